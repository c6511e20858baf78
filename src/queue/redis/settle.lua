-- Settles an entry read from a queue stream, in one step, keeping the byte counter exact:
-- acknowledges and deletes it (its bytes leave the counter only if this call deleted it, so two
-- instances settling the same reclaimed entry count it once), then appends its successor if any
-- (a requeue: the event with its new attempt count; a dead letter).
--
-- KEYS[1]   the queue's byte counter
-- KEYS[2]   the stream of the entry settled
-- KEYS[3]   the stream to append to (unused without fields)
-- ARGV[1]   the consumer group
-- ARGV[2]   the entry's id, or '' when there is none to settle
-- ARGV[3]   the entry's size in bytes
-- ARGV[4]   the size the appended entry counts (0 for a dead letter: not counted)
-- ARGV[5..] the appended entry's fields and values, if any
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  if redis.call('XDEL', KEYS[2], ARGV[2]) == 1 then
    -- Entries written before the counter existed were never counted: never below zero.
    if redis.call('DECRBY', KEYS[1], ARGV[3]) < 0 then
      redis.call('SET', KEYS[1], '0')
    end
  end
end
if #ARGV > 4 then
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, 5))
  if tonumber(ARGV[4]) > 0 then
    redis.call('INCRBY', KEYS[1], ARGV[4])
  end
end
return 'ok'
