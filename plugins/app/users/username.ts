// Usernames follow the spirit of RFC 8265 (UsernameCaseMapped): compatibility forms and
// case map to one canonical form, so "Alice", "ALICE" and "Ａｌｉｃｅ" are one account.

/** Control, format (zero-width joiners, bidi marks) and separator characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u
const CANONICAL = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}._-]{2,31}$/u

/** The canonical form of a username, or null when it is not an acceptable name. */
export function normaliseUsername (raw: string): string | null {
  if (INVISIBLE.test(raw)) return null
  const name = raw.normalize('NFKC').toLowerCase().normalize('NFKC')
  return CANONICAL.test(name) ? name : null
}
