import type { ReactNode } from "react";
import { ChatApp } from "@/components/chat/chat-shell";

/** The chat frame (sidebar, agent status, realtime) stays mounted while the user moves between conversations. */
export default function ChatLayout({ children }: { children: ReactNode }) {
  return <ChatApp>{children}</ChatApp>;
}
