// What `kiln logs` prints to a terminal: an app's line as text, never as commands to the
// terminal. A line may hold escape sequences (ESC [ …, OSC 52 that writes the clipboard, a title
// change, a cursor move that hides earlier lines), C1 controls a terminal also obeys (CSI as
// U+009B), or Unicode bidirectional overrides that reorder what is shown. Each is printed as a
// visible escape (\x1b, \u009b, \u202e) instead; a tab stays a tab. Only on a terminal: piped
// output keeps the bytes as the app wrote them, and --json is escaped by JSON already.

// C0 controls but tab, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeForTerminal(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
