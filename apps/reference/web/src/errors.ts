// The CLI's one-line failure message (cli-support.ts reportFailure), for the page.
import { isQuantError } from '@quint/tensor';

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** `quint: <CODE>: <message>` for a QuantError; `quint: INTERNAL: …` for anything else. */
export function failureLine(e: unknown): string {
  if (isQuantError(e)) return `quint: ${e.code}: ${firstLine(e.message)}`;
  const msg = e instanceof Error ? e.message : String(e);
  return `quint: INTERNAL: ${firstLine(msg)} (the browser console has the details; please report it)`;
}
