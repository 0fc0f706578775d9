import type { Redis } from 'ioredis';

/**
 * One publish call in one round trip: a Lua script that checks the topic has a group (refusing
 * the call as unroutable otherwise, with nothing written) and adds each message to its stream,
 * answering per message. Atomic, so no group can come or go between the check and the XADDs.
 *
 * It also keeps the publisher's chain on the topic (see `RedisPublisher`): a call that names the
 * call before it runs only if that one ran whole, so that when a call fails, the calls sent
 * behind it before its answer came back write nothing either. Redis runs one connection's
 * commands in order, but a failure need not be the connection's: an OOM or a MISCONF error can
 * clear between two calls, and the later call would then store a key's message while the
 * earlier one was lost.
 *
 * Within a call, once an XADD to a stream failed, the call's later messages of that stream are
 * not added (a key's messages all go to one stream).
 *
 * Sent with EVAL, not EVALSHA: a server that lost its script cache (a restart) answers EVALSHA
 * with NOSCRIPT, and the client's fallback to EVAL goes out behind calls sent after it, out of
 * order. The script is a few hundred bytes beside a call's messages.
 */
const SCRIPT = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return -2 end
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.pcall('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return -1
end
local a = ARGV
local trimmed = a[4] == '3'
local replies = {}
local failed = {}
local whole = true
local i = trimmed and 8 or 5
local last = #a
while i <= last do
  local stream = tonumber(a[i])
  if failed[stream] then
    replies[#replies + 1] = '!an earlier message of its stream in this call was not added'
  else
    local reply
    if trimmed then
      reply = redis.pcall('XADD', KEYS[stream], a[5], a[6], a[7], '*', a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7], a[i + 8])
    else
      reply = redis.pcall('XADD', KEYS[stream], '*', a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7], a[i + 8])
    end
    if type(reply) == 'table' and reply.err then
      failed[stream] = true
      whole = false
      replies[#replies + 1] = '!' .. reply.err
    else
      replies[#replies + 1] = reply
    end
  end
  i = i + 9
end
if whole then redis.pcall('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.pcall('DEL', KEYS[2]) end
return replies
`;

/**
 * Fields of an entry as the script takes them: id, key, headers and body with their names
 * (`toFields`). Spelled out in the script's XADDs instead of a loop: building an argument table
 * per message costs the server half as much again as the XADD itself.
 */
const FIELDS = 8;

/** A call's messages: each with its stream and its entry's fields. */
export interface ScriptMessage {
  stream: string;
  fields: string[];
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

/** What the script answered: the topic has no group, the call before did not run whole, or one reply per message (the entry id, or Redis' error). */
export type ScriptAnswer = { kind: 'unroutable' } | { kind: 'behind_failed_call' } | { kind: 'added'; replies: Array<{ id: string } | { error: string }> };

/** Runs the script for one call; rejects as ioredis does (connection lost, a server error for the whole call). */
export async function runPublishScript(redis: Redis, call: ScriptCall): Promise<ScriptAnswer> {
  const streams = new Map<string, number>();
  const keys = [call.groups, call.chain];
  // A trimming policy is `MAXLEN ~ n`, `MINID ~ id` or none: three arguments or none.
  if (call.trim.length !== 0 && call.trim.length !== 3) throw new Error(`the publish script takes 0 or 3 trimming arguments, not ${call.trim.length}`);
  const args: string[] = [call.after === undefined ? '' : String(call.after), String(call.call), String(call.chainTtlMs), String(call.trim.length), ...call.trim];
  for (const message of call.messages) {
    if (message.fields.length !== FIELDS) throw new Error(`the publish script takes ${FIELDS} fields per entry, not ${message.fields.length}`);
    let index = streams.get(message.stream);
    if (index === undefined) {
      keys.push(message.stream);
      index = keys.length;
      streams.set(message.stream, index);
    }
    args.push(String(index));
    for (const field of message.fields) args.push(field);
  }
  // One array, not spread arguments: a large call has more of them than a function call takes.
  const command: Array<string | number> = [SCRIPT, keys.length];
  for (const key of keys) command.push(key);
  for (const arg of args) command.push(arg);
  const reply = await redis.call('EVAL', command);
  if (reply === -1) return { kind: 'unroutable' };
  if (reply === -2) return { kind: 'behind_failed_call' };
  if (!Array.isArray(reply) || reply.length !== call.messages.length) throw new Error(`unexpected answer of the publish script: ${JSON.stringify(reply)}`);
  return { kind: 'added', replies: reply.map((r: unknown) => (typeof r === 'string' && !r.startsWith('!') ? { id: r } : { error: String(r).slice(1) })) };
}
