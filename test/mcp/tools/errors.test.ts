// The tool-result wire: what a client reads when a call fails, from the same DomainError codes as the
// other wires.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainError } from '../../../domain/shared.ts';
import { UnstorableEventError } from '../../../eventstore/port.ts';
import { statusOfCode } from '../../../http/errors.ts';
import { ToolError } from '../../../mcp/tools/define.ts';
import { toolErrorResult, toolFailureOf, unknownToolResult } from '../../../mcp/tools/errors.ts';

const test = suite('mcp: tool errors');

test('a ToolError is a DomainError: its code maps in the one table like any other', () => {
  const error = new ToolError('insufficient_scope', 'the tool x needs the scope y');
  assert.ok(error instanceof DomainError);
  assert.is(error.name, 'ToolError');
  assert.is(statusOfCode(error.code), 403);
});

test('failures the caller may read keep their code and message; faults are not shown', () => {
  const outside = new ToolError('outside_roots', 'the path a/../../b leaves the roots');
  assert.is(toolFailureOf(outside), outside);
  const domain = new DomainError('note_not_found', 'no note 7');
  assert.is(toolFailureOf(domain), domain);
  const unstorable = toolFailureOf(new UnstorableEventError(['memory-1'], '$.title'));
  assert.is(unstorable?.code, 'invalid_arguments');
  assert.is(unstorable?.message, 'the arguments hold U+0000 or an unpaired surrogate, which cannot be stored');
  assert.is(toolFailureOf(new Error('connection reset')), undefined);
  assert.is(toolFailureOf('thrown string'), undefined);
});

test('the result clients see: isError and the text `code: message`', () => {
  assert.equal(toolErrorResult(new ToolError('outside_roots', 'the path leaves the roots')), {
    content: [{ type: 'text', text: 'outside_roots: the path leaves the roots' }],
    isError: true,
  });
  assert.equal(unknownToolResult('nope'), {
    content: [{ type: 'text', text: 'MCP error -32602: Tool nope not found' }],
    isError: true,
  });
});

test.run();
