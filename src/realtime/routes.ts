// GET /ws/:deviceSessionId: the realtime socket of one device session, authenticated by
// that session's token (Authorization: Bearer, or ?token= for browsers). Also the VAPID
// public key browsers subscribe with.
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken } from '../auth/credentials.ts';
import type { AuthContext } from '../auth/sessions.ts';
import { constantTimeEqual } from '../auth/tokens.ts';
import type { Kernel } from '../kernel.ts';
import type { RealtimeHub } from './hub.ts';
import { CLOSE_POLICY_VIOLATION } from './sockets.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SOCKET_AUTH = Symbol('socket auth');

declare module 'fastify' {
  interface FastifyRequest {
    [SOCKET_AUTH]?: AuthContext;
  }
}

type SocketRequest = FastifyRequest<{ Params: { deviceSessionId: string }; Querystring: { token?: string } }>;

export async function realtimeRoutes(app: FastifyInstance, { kernel: k, hub }: { kernel: Kernel; hub: RealtimeHub }) {
  // Before @fastify/websocket's own preClose (added next), which closes without a code.
  app.addHook('preClose', async () => hub.closeSockets());
  // Clients only listen: what they send is read and dropped, so keep it small.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.get(
    '/ws/:deviceSessionId',
    {
      websocket: true,
      schema: { hide: true },
      // Resolved before the upgrade, so nothing can reach the socket ahead of the check.
      preValidation: async (request: SocketRequest) => {
        const sessionId = request.params.deviceSessionId;
        const query = request.query.token;
        const token = bearerToken(request.headers.authorization) ?? (typeof query === 'string' && query ? query : undefined);
        if (!token || !UUID.test(sessionId)) return;
        const auth = await k.authCache.resolve(token);
        if (auth && constantTimeEqual(auth.session.id, sessionId.toLowerCase())) request[SOCKET_AUTH] = auth;
      },
    },
    (socket, request: SocketRequest) => {
      const auth = request[SOCKET_AUTH];
      if (!auth) {
        request.log.info('websocket refused: no valid token for this device session');
        socket.close(CLOSE_POLICY_VIOLATION, 'Unauthorized');
        return;
      }
      hub.attach(socket, auth.user.id, auth.session.id);
    },
  );

  app.get('/push/vapidPublicKey', { schema: { hide: true } }, async () => ({ publicKey: hub.vapidKeys.publicKey }));
}
