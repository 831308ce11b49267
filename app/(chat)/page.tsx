import { ConversationView } from "@/components/chat/conversation-view";

/** A new chat: the first message creates the conversation and moves to /c/<id>. */
export default function NewChatPage() {
  return <ConversationView />;
}
