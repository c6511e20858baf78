-- Accepts one new event in one step: Redis runs a script as a whole, nothing interleaves.
--
-- KEYS[1]    the stream to append to (a priority's queue stream, or the dead letters)
-- KEYS[2..4] the three queue streams, whose lengths add up to the queue's depth
-- KEYS[5]    the queue's byte counter: the bytes of the entries in the three queue streams
-- KEYS[6]    the delivery id's de-duplication key; absent when the event claims none
-- ARGV[1]    queue_max_size, or '' for no count bound (and for dead letters)
-- ARGV[2]    the claim's window in milliseconds
-- ARGV[3]    queue_max_bytes, or '' for dead letters (neither bounded nor counted)
-- ARGV[4]    the entry's size in bytes (its record)
-- ARGV[5..]  the entry's fields and values
--
-- Answers 'full' or 'duplicate' (nothing written), or 'ok' (the entry, its bytes and the claim
-- written). Every check comes before the first write, and the entry before the claim: Redis does
-- not roll back a script that fails half-way, and a claim must never exist without its event.
if ARGV[1] ~= '' then
  local depth = redis.call('XLEN', KEYS[2]) + redis.call('XLEN', KEYS[3])
    + redis.call('XLEN', KEYS[4])
  if depth >= tonumber(ARGV[1]) then
    return 'full'
  end
end
local size = tonumber(ARGV[4])
if ARGV[3] ~= '' then
  -- A queue holding nothing takes one event of any size (never refused forever).
  local held = tonumber(redis.call('GET', KEYS[5]) or '0')
  if held > 0 and held + size > tonumber(ARGV[3]) then
    return 'full'
  end
end
local claim = KEYS[6]
if claim and redis.call('EXISTS', claim) == 1 then
  return 'duplicate'
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
if ARGV[3] ~= '' then
  redis.call('INCRBY', KEYS[5], size)
end
if claim then
  redis.call('SET', claim, '1', 'PX', ARGV[2])
end
return 'ok'
