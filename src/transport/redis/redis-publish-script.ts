import type { Redis } from 'ioredis';
import { ENTRY_FIELDS } from './redis-message.js';

/**
 * One publish call in one round trip: a Lua script that checks the topic has a group (refusing
 * the call as unroutable otherwise, with nothing written) and adds each message to its stream.
 * Atomic, so no group can come or go between the check and the XADDs.
 *
 * It also keeps the publisher's chain on the topic (see `RedisPublisher`): a call that names the
 * call before it runs only if that one ran whole, so that when a call fails, the calls sent
 * behind it before its answer came back write nothing either. Redis runs one connection's
 * commands in order, but a failure need not be the connection's: an OOM or a MISCONF error can
 * clear between two calls, and the later call would then store a key's message while the
 * earlier one was lost.
 *
 * Within a call, once an XADD to a stream failed, the call's later messages of that stream are
 * not added (a key's messages all go to one stream). The script answers with the failures only
 * (message number, Redis' error): the entry ids are of no use to a publisher, and a call's worth
 * of them costs both sides time. The fields' names go once per call and the four values of each
 * message are spelled out in its XADD: an argument table built per message costs the server
 * half as much again as the XADD itself.
 *
 * Sent with EVAL, not EVALSHA: a server that lost its script cache (a restart) answers EVALSHA
 * with NOSCRIPT, and the client's fallback to EVAL goes out behind calls sent after it, out of
 * order. The script is a kilobyte beside a call's messages.
 */
const SCRIPT = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return -2 end
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.pcall('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return -1
end
local a = ARGV
local trimmed = a[4] == '3'
local f = trimmed and 8 or 5
local n1, n2, n3, n4 = a[f], a[f + 1], a[f + 2], a[f + 3]
local failures = {}
local failed = {}
local m = 0
local i = f + 4
local last = #a
while i <= last do
  m = m + 1
  local stream = tonumber(a[i])
  if failed[stream] then
    failures[#failures + 1] = m
    failures[#failures + 1] = 'an earlier message of its stream in this call was not added'
  else
    local reply
    if trimmed then
      reply = redis.pcall('XADD', KEYS[stream], a[5], a[6], a[7], '*', n1, a[i + 1], n2, a[i + 2], n3, a[i + 3], n4, a[i + 4])
    else
      reply = redis.pcall('XADD', KEYS[stream], '*', n1, a[i + 1], n2, a[i + 2], n3, a[i + 3], n4, a[i + 4])
    end
    if type(reply) == 'table' and reply.err then
      failed[stream] = true
      failures[#failures + 1] = m
      failures[#failures + 1] = reply.err
    end
  end
  i = i + 5
end
if #failures == 0 then redis.pcall('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.pcall('DEL', KEYS[2]) end
return failures
`;

/** A call's messages: each with its stream and its entry's values (`entryValues`). */
export interface ScriptMessage {
  stream: string;
  values: string[];
}

export interface ScriptCall {
  /** The topic's set of groups. */
  groups: string;
  /** The publisher's chain key on the topic. */
  chain: string;
  /** The number of the call before this one when it is still unanswered (the script checks it ran whole); undefined when none is. */
  after: number | undefined;
  /** This call's number, stored in the chain when it runs whole. */
  call: number;
  /** How long the chain key outlives its last call. */
  chainTtlMs: number;
  trim: string[];
  messages: ScriptMessage[];
}

/** What the script answered: the topic has no group, the call before did not run whole, or the messages Redis did not add (by index in the call), with its error. */
export type ScriptAnswer = { kind: 'unroutable' } | { kind: 'behind_failed_call' } | { kind: 'added'; failures: Map<number, string> };

/** Runs the script for one call; rejects as ioredis does (connection lost, a server error for the whole call). */
export async function runPublishScript(redis: Redis, call: ScriptCall): Promise<ScriptAnswer> {
  // A trimming policy is `MAXLEN ~ n`, `MINID ~ id` or none: three arguments or none.
  if (call.trim.length !== 0 && call.trim.length !== 3) throw new Error(`the publish script takes 0 or 3 trimming arguments, not ${call.trim.length}`);
  const streams = new Map<string, number>();
  const keys = [call.groups, call.chain];
  for (const message of call.messages) {
    if (!streams.has(message.stream)) {
      keys.push(message.stream);
      streams.set(message.stream, keys.length);
    }
  }
  // One array, not spread arguments: a large call has more of them than a function call takes.
  const command: Array<string | number> = [SCRIPT, keys.length, ...keys, call.after === undefined ? '' : String(call.after), String(call.call), String(call.chainTtlMs), String(call.trim.length), ...call.trim, ...ENTRY_FIELDS];
  for (const message of call.messages) {
    if (message.values.length !== ENTRY_FIELDS.length) throw new Error(`the publish script takes ${ENTRY_FIELDS.length} values per entry, not ${message.values.length}`);
    command.push(streams.get(message.stream)!);
    for (const value of message.values) command.push(value);
  }
  const reply = await redis.call('EVAL', command);
  if (reply === -1) return { kind: 'unroutable' };
  if (reply === -2) return { kind: 'behind_failed_call' };
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error(`unexpected answer of the publish script: ${JSON.stringify(reply)}`);
  const failures = new Map<number, string>();
  for (let i = 0; i < reply.length; i += 2) failures.set(Number(reply[i]) - 1, String(reply[i + 1]));
  return { kind: 'added', failures };
}
