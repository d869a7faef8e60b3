import { decodeHTML } from 'entities';

/**
 * Python's `str.isspace()` set, which is what the reference `re.sub(r'\s+', ' ', …)` and `strip()`
 * use. JS `\s` differs (it adds U+FEFF and lacks U+001C–U+001F and U+0085), and those differences
 * would change token ids.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's whitespace class includes these control characters
const PYTHON_WHITESPACE_RUN = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

const CURLY_SINGLE_QUOTES = /[\u2018\u2019\u201a\u201b]/g;
const CURLY_DOUBLE_QUOTES = /[\u201c\u201d\u201e\u201f]/g;

/**
 * CLIP's text cleaning before BPE (simple_tokenizer's basic_clean + whitespace_clean + lower).
 * Of ftfy's fix_text only NFC normalization and uncurl_quotes are reproduced: its mojibake repair
 * and other heuristics are out of scope, so text with broken encodings can tokenize differently.
 */
export function cleanText(text: string): string {
  // The reference unescapes twice so that double-escaped captions ("&amp;amp;") come out plain.
  const unescaped = decodeHTML(decodeHTML(text));
  return unescaped
    .normalize('NFC')
    .replace(CURLY_SINGLE_QUOTES, "'")
    .replace(CURLY_DOUBLE_QUOTES, '"')
    .replace(PYTHON_WHITESPACE_RUN, ' ')
    .replace(/^ | $/g, '')
    .toLowerCase();
}
