// Server-sent events read over fetch (EventSource cannot send the Authorization header): the
// parsing, kept apart from the browser so it is unit-tested.

/**
 * Splits what arrived so far into complete events' names (`event:` lines; `message` when an
 * event has none) and the unfinished rest to prepend to the next chunk. Comments (`:` lines,
 * the keep-alives) make no event.
 */
export function parseSse(buffer: string): { events: string[]; rest: string } {
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: string[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const name = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
    events.push(name || 'message');
  }
  return { events, rest };
}
