"use client";

import { useEffect, useState } from "react";

/** Copies `text` to the clipboard and says so for two seconds. */
export function CopyButton({
  text,
  label = "Copy",
  className = "",
  testId,
}: {
  text: string | (() => string);
  label?: string;
  className?: string;
  testId?: string;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <button
      type="button"
      data-testid={testId}
      aria-label={copied ? "Copied" : label}
      title={copied ? "Copied" : label}
      className={`rounded px-2 py-1 text-xs text-zinc-500 transition hover:bg-zinc-200 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-blue-500 dark:text-zinc-400 dark:hover:bg-zinc-700 dark:hover:text-zinc-100 ${className}`}
      onClick={async () => {
        const value = typeof text === "function" ? text() : text;
        try {
          await navigator.clipboard.writeText(value);
          setCopied(true);
        } catch (err) {
          // Clipboard access can be denied (insecure origin, permissions): say so rather than pretend.
          console.warn("copy failed", err);
        }
      }}
    >
      {copied ? "Copied" : label}
    </button>
  );
}
