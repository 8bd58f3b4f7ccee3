// Media endpoints of openapi/messenger.yaml.
import type { operations } from '../../generated/messenger.ts';
import type { Handlers } from '../../http/openapi.ts';
import type { Kernel } from '../../kernel.ts';
import { requireAuth } from '../auth.ts';
import * as media from '../media.ts';

export function mediaHandlers(k: Kernel): Handlers<Pick<operations, 'listRecentMedia' | 'deleteMedia'>> {
  return {
    listRecentMedia: async (request) => media.recentMedia(k, requireAuth(request), request.query.offset ?? 0, request.query.limit ?? 20),
    deleteMedia: async (request) => media.deleteMedia(k, requireAuth(request), request.params.mediaId),
  };
}
