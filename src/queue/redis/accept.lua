-- Accepts one new event in one step: Redis runs a script as a whole, nothing interleaves.
--
-- KEYS[1]    the stream to append to (a priority's queue stream, or the dead letters)
-- KEYS[2..4] the three queue streams, whose lengths add up to the queue's depth
-- KEYS[5]    the delivery id's de-duplication key; absent when the event claims none
-- ARGV[1]    queue_max_size, or '' for no limit (dead letters)
-- ARGV[2]    the claim's window in milliseconds
-- ARGV[3..]  the entry's fields and values
--
-- Answers 'full' or 'duplicate' (nothing written), or 'ok' (the entry and the claim written).
-- Every check comes before the first write, and the entry before the claim: Redis does not roll
-- back a script that fails half-way, and a claim must never exist without its event.
if ARGV[1] ~= '' then
  local depth = redis.call('XLEN', KEYS[2]) + redis.call('XLEN', KEYS[3])
    + redis.call('XLEN', KEYS[4])
  if depth >= tonumber(ARGV[1]) then
    return 'full'
  end
end
local claim = KEYS[5]
if claim and redis.call('EXISTS', claim) == 1 then
  return 'duplicate'
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
if claim then
  redis.call('SET', claim, '1', 'PX', ARGV[2])
end
return 'ok'
