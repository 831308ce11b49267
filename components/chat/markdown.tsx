"use client";

import { type ComponentProps, memo, type ReactNode, useRef } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { CopyButton } from "./copy-button";
import "./highlight.css";

function languageOf(children: ReactNode): string | undefined {
  const child = Array.isArray(children) ? children[0] : children;
  const className =
    child && typeof child === "object" && "props" in child
      ? (child.props as { className?: string }).className
      : undefined;
  return className?.match(/language-([\w+-]+)/)?.[1];
}

/** A fenced code block with its language and a copy button. */
function Pre({ children, ...rest }: ComponentProps<"pre">) {
  const ref = useRef<HTMLPreElement>(null);
  const lang = languageOf(children);
  return (
    <div className="not-prose group relative my-3 overflow-hidden rounded-lg border border-zinc-200 bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900">
      <div className="flex items-center justify-between border-b border-zinc-200 px-3 py-1 text-xs text-zinc-500 dark:border-zinc-700 dark:text-zinc-400">
        <span>{lang ?? "code"}</span>
        <CopyButton text={() => ref.current?.textContent ?? ""} label="Copy code" testId="copy-code" />
      </div>
      <pre ref={ref} {...rest} className="overflow-x-auto p-3 text-[13px] leading-relaxed">
        {children}
      </pre>
    </div>
  );
}

const components: Components = {
  pre: Pre,
  a: ({ href, children, ...rest }) => (
    <a {...rest} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
};

/**
 * Markdown with GitHub extensions (tables, task lists, strikethrough) and highlighted code.
 * Raw HTML in the text is not rendered (react-markdown's default), so a reply cannot
 * inject markup.
 */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="prose prose-zinc max-w-none break-words dark:prose-invert prose-pre:my-0 prose-pre:bg-transparent prose-pre:p-0">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: false, ignoreMissing: true }]]}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});
