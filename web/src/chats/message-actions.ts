// Changing a message already sent: edit its text, delete it. Each answers the changed message.
import { api, call, type MessageInfo } from '../ui/api.ts';

export function messageActions(chatId: string, onChanged: (message: MessageInfo) => void, onError: (error: unknown) => void) {
  return {
    async saveEdit(message: MessageInfo, text: string): Promise<boolean> {
      try {
        onChanged(await call(api.PUT('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: message.id } }, body: { text } })));
        return true;
      } catch (error) {
        onError(error);
        return false;
      }
    },
    async remove(message: MessageInfo) {
      try {
        onChanged(await call(api.DELETE('/chats/{chatId}/messages/{messageId}', { params: { path: { chatId, messageId: message.id } } })));
      } catch (error) {
        onError(error);
      }
    },
  };
}
