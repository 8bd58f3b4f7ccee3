// Message text as people write it: *bold*, _italic_, `code`, ```code blocks```, line breaks
// and clickable http(s) links. Built as elements, never as HTML, so nothing in a message can
// inject markup or script.
import type { ComponentChildren } from 'preact';

const INLINE = /(`[^`\n]+`)|(\*[^*\n]+\*)|(_[^_\n]+_)|(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])/g;

function inline(text: string, key: string): ComponentChildren[] {
  const parts: ComponentChildren[] = [];
  let last = 0;
  let n = 0;
  for (const match of text.matchAll(INLINE)) {
    const at = match.index ?? 0;
    if (at > last) parts.push(text.slice(last, at));
    const [whole, code, bold, italic, link] = match;
    const id = `${key}-${n++}`;
    if (code) parts.push(<code key={id}>{code.slice(1, -1)}</code>);
    else if (bold) parts.push(<strong key={id}>{inline(bold.slice(1, -1), id)}</strong>);
    else if (italic) parts.push(<em key={id}>{inline(italic.slice(1, -1), id)}</em>);
    else if (link)
      parts.push(
        <a key={id} href={link} target="_blank" rel="noopener noreferrer nofollow">
          {link}
        </a>,
      );
    last = at + whole.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The text with ``` fences as code blocks and the rest formatted inline (line breaks kept by CSS). */
export function RichText({ text }: { text: string }) {
  const pieces = text.split(/```/);
  return (
    <>
      {pieces.map((piece, i) =>
        i % 2 === 1 ? (
          <pre key={i}>
            <code>{piece.replace(/^\n|\n$/g, '')}</code>
          </pre>
        ) : (
          <span key={i}>{inline(piece, String(i))}</span>
        ),
      )}
    </>
  );
}
