// The storable-text checker and sanitizer: U+0000 and unpaired surrogates found and replaced with U+FFFD
// (in values and keys, at any depth); valid surrogate pairs and everything else kept as they are.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  findUnstorable,
  isStorableText,
  mayHoldUnstorableJson,
  toStorable,
  toStorableText,
} from '../../eventstore/storable.ts';

const test = suite('eventstore: storable text');

const HIGH = '\uD83D'; // the high half of 😀 (U+1F600 = D83D DE00)
const LOW = '\uDE00';
const PAIR = `${HIGH}${LOW}`;

test('U+0000 is refused and replaced', () => {
  assert.is(isStorableText('a\0b'), false);
  assert.is(toStorableText('a\0b\0'), 'a\uFFFDb\uFFFD');
});

test('a lone high or low surrogate is refused and replaced; a valid pair is kept', () => {
  for (const lone of [`x${HIGH}`, `${HIGH}x`, `x${LOW}`, `${LOW}${HIGH}`, `${PAIR}${LOW}`]) {
    assert.is(isStorableText(lone), false, JSON.stringify(lone));
  }
  assert.is(toStorableText(`x${HIGH}y`), 'x\uFFFDy');
  assert.is(toStorableText(`x${LOW}y`), 'x\uFFFDy');
  // Reversed halves are two lone surrogates, not a pair.
  assert.is(toStorableText(`${LOW}${HIGH}`), '\uFFFD\uFFFD');
  assert.is(toStorableText(`${PAIR}${LOW}`), `${PAIR}\uFFFD`);
  assert.is(isStorableText(`smile ${PAIR}`), true);
  assert.is(toStorableText(`smile ${PAIR}`), `smile ${PAIR}`);
  // Other control characters and U+FFFD itself are storable.
  assert.is(isStorableText('\u0001\t\n\uFFFD\u007F'), true);
});

test('nested objects and arrays: values and keys, with the path of the first one found', () => {
  const value = { ok: 'fine', list: [1, 'x', { deep: [`a${HIGH}`] }], [`k\0`]: 'v' };
  assert.is(findUnstorable(value), '$.list[2].deep[0]');
  assert.is(findUnstorable({ ok: 1, [`k\0`]: 'v' }), '$."k\\u0000"');
  assert.is(findUnstorable({ a: { b: { c: [null, true, 3, 'ok', PAIR] } } }), undefined);
  assert.equal(toStorable(value), {
    ok: 'fine',
    list: [1, 'x', { deep: ['a\uFFFD'] }],
    'k\uFFFD': 'v',
  });
  assert.equal(toStorable([`\0`, [LOW], { [HIGH]: { x: '\0' } }]), [
    '\uFFFD',
    ['\uFFFD'],
    { '\uFFFD': { x: '\uFFFD' } },
  ]);
});

test('a storable value is returned as is (no copy); other instances are not entered', () => {
  const clean = { a: [1, { b: PAIR }] };
  assert.is(toStorable(clean), clean);
  const date = new Date(0);
  const copy = toStorable({ when: date, bad: '\0' });
  assert.is(copy.when, date);
  assert.is(copy.bad, '\uFFFD');
  assert.is(toStorable('a\0'), 'a\uFFFD');
  assert.is(toStorable(null), null);
});

test('JSON text: NUL and lone surrogates show as escapes, a valid pair does not', () => {
  assert.is(mayHoldUnstorableJson(JSON.stringify({ a: 'x\0' })), true);
  assert.is(mayHoldUnstorableJson(JSON.stringify({ a: `x${HIGH}` })), true);
  assert.is(mayHoldUnstorableJson(JSON.stringify({ a: `x${LOW}` })), true);
  assert.is(mayHoldUnstorableJson(JSON.stringify({ [`k\0`]: 1 })), true);
  assert.is(mayHoldUnstorableJson(JSON.stringify({ a: `x${PAIR}`, b: '\u0001é' })), false);
  // A typed backslash-u is a false alarm the caller settles with findUnstorable.
  const typed = { a: '\\u0000' };
  assert.is(mayHoldUnstorableJson(JSON.stringify(typed)), true);
  assert.is(findUnstorable(typed), undefined);
});

test.run();
