// A cheaper reader of `timestamptz` text for hot reads (the event log's created_at): pg's parser
// (postgres-date) runs three regular expressions and makes a dozen strings per value, and a rebuild
// reads one per event. The common shape is read here with the same arithmetic; any other goes to pg's.
import pg from 'pg';

const TIMESTAMPTZ = 1184;
const defaultParser = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => unknown;

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48;
  return code >= 0 && code <= 9 ? code : -1;
};

/** Two or four digits at `at` as a number; -1 when any is not a digit. */
const digits = (text: string, at: number, count: number): number => {
  let value = 0;
  for (let i = 0; i < count; i += 1) {
    const d = digit(text, at + i);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
};

/**
 * `YYYY-MM-DD HH:MM:SS[.f…]+00` (a UTC session's output, year 100 to 9999) as postgres-date reads it:
 * Date.UTC over the fields, the fraction as 1000 × its value (n / 10^k is the same double as
 * parseFloat's). Anything else (another offset, BC, infinity, years below 100) is pg's parser's.
 */
export const parseTimestamptz = (text: string): unknown => {
  const end = text.length - 3;
  if (
    end < 19 ||
    text.charCodeAt(end) !== 43 /* + */ ||
    text.charCodeAt(end + 1) !== 48 ||
    text.charCodeAt(end + 2) !== 48 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 /* space */ ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58
  )
    return defaultParser(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return defaultParser(text);
  let ms = 0;
  if (end > 19) {
    // A fraction: a dot and 1 to 15 digits, up to the offset.
    const count = end - 20;
    if (text.charCodeAt(19) !== 46 /* . */ || count < 1 || count > 15) return defaultParser(text);
    const fraction = digits(text, 20, count);
    if (fraction < 0) return defaultParser(text);
    ms = 1000 * (fraction / 10 ** count);
  }
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
};

/** pg's type parsers, but timestamptz text by parseTimestamptz. */
export const fastTimestamps: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ && (format ?? 'text') === 'text'
      ? parseTimestamptz
      : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};
