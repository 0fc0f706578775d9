/** `YYYY-MM-DD HH:MM:SS`, the fraction, the offset and an era; any year, as PostgreSQL writes them. */
const GENERAL = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?$/;

/** The two digits at `i` as a number. */
const twoDigits = (text: string, i: number): number => (text.charCodeAt(i) - 48) * 10 + text.charCodeAt(i + 1) - 48;

/**
 * A `timestamptz` as PostgreSQL writes it in the ISO DateStyle (its default, and what pg and
 * PGlite expect): `2026-12-01 16:46:50.123456+00`, with an offset such as `+05:30` or
 * `-00:25:21` where the session's time zone has one. Digits past the millisecond are dropped,
 * as pg's own parser drops them. Anything it cannot read (`infinity`, another DateStyle) is an
 * Invalid Date.
 *
 * Why not pg's parser: reading `$all`, its regular expression took a tenth of the reader's
 * time; this reads the common shape by position, and leaves rare ones (years before 100 or
 * after 9999, BC) to a regular expression.
 *
 * @example
 * parseTimestamptz('2026-12-01 16:46:50.123456+01').toISOString() // '2026-12-01T15:46:50.123Z'
 */
export function parseTimestamptz(text: string): Date {
  const n = text.length;
  if (n >= 22 && text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(10) === 32 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
    let i = 19;
    let millis = 0;
    if (text.charCodeAt(i) === 46) {
      for (let scale = 100, digit = text.charCodeAt(++i) - 48; digit >= 0 && digit <= 9; digit = text.charCodeAt(++i) - 48) {
        millis += digit * scale;
        scale /= 10;
      }
    }
    const sign = text.charCodeAt(i);
    let offset = twoDigits(text, i + 1) * 3600;
    i += 3;
    for (let unit = 60; unit >= 1 && text.charCodeAt(i) === 58; unit /= 60, i += 3) offset += twoDigits(text, i + 1) * unit;
    if (i === n && year >= 100 && (sign === 43 || sign === 45)) {
      const utc = Date.UTC(year, twoDigits(text, 5) - 1, twoDigits(text, 8), twoDigits(text, 11), twoDigits(text, 14), twoDigits(text, 17), Math.floor(millis));
      return new Date(utc - (sign === 43 ? offset : -offset) * 1000);
    }
  }
  return parseGeneral(text);
}

function parseGeneral(text: string): Date {
  const m = GENERAL.exec(text);
  if (!m) return new Date(Number.NaN);
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes, offsetSeconds, bc] = m;
  const date = new Date(0);
  // Year 1 BC is year 0 of the proleptic Gregorian calendar that Date counts in.
  date.setUTCFullYear(bc ? 1 - Number(year) : Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), Number((fraction ?? '').padEnd(3, '0').slice(0, 3)));
  const offset = Number(offsetHours) * 3600 + Number(offsetMinutes ?? 0) * 60 + Number(offsetSeconds ?? 0);
  return new Date(date.getTime() - (sign === '+' ? offset : -offset) * 1000);
}
