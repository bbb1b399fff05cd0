-- citycode's replay store in Redis (SPEC.md §9.1). One script call per bucket: it reads
-- the serving process's identity and the bucket's epoch, then inserts, atomically.
--
-- KEYS[1]  the bucket's epoch key
-- KEYS[2…] mode "i": the entries to insert, in order; mode "r": a probe key
-- ARGV[1]  the verifier's Unix second
-- ARGV[2]  the recovery window in seconds
-- ARGV[3]  mode: "i" insert, "r" readiness, "s" seed a new store
-- ARGV[4]  "1" to check maxmemory-policy, "0" not to (an operator's override)
-- ARGV[5…] mode "i": each entry's time to live in seconds
--
-- Replies: {0, until, cause, detected}  refusing: entries may have been lost
--          {1, r…}                      mode "i": per entry 1 inserted, 0 already there,
--                                       or the error text (OOM …); mode "r": {1, replicas};
--                                       mode "s": {1, 1 seeded or 0 left alone}
--          {2, reason}                  misconfigured: refused, nothing inserted
--
-- The epoch is "<run_id>:<master_replid>:<unix second>:<cause>". A process's run_id is
-- new on every start and differs on every other process; master_replid changes when a
-- process is promoted. An epoch written by another process or another replication
-- history, or no epoch, means entries may have been lost: the script writes a new epoch
-- and every caller refuses until its second plus the window.

local function field(info, name)
  local i = string.find(info, '\n' .. name .. ':', 1, true)
  if not i then
    return nil
  end
  local first = i + #name + 2
  local last = string.find(info, '\r', first, true)
  if not last then
    return nil
  end
  return string.sub(info, first, last - 1)
end

local function bad_policy()
  local policy = field(redis.call('INFO', 'memory'), 'maxmemory_policy')
  if policy == 'noeviction' then
    return nil
  end
  return 'maxmemory-policy is ' .. (policy or 'not reported') .. ', not noeviction: Redis may evict unexpired entries'
end

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local mode = ARGV[3]
local check = ARGV[4] == '1'

local info = redis.call('INFO', 'server', 'replication')
local run = field(info, 'run_id')
local history = field(info, 'master_replid')
if not run or not history or not string.match(run, '^%x+$') or not string.match(history, '^%x+$') then
  return {2, 'the server reports no run_id and master_replid (INFO): lost entries could not be detected'}
end
local identity = run .. ':' .. history
local epoch = redis.call('GET', KEYS[1])

if mode == 's' then
  if epoch then
    return {1, 0}
  end
  if check then
    local bad = bad_policy()
    if bad then
      return {2, bad}
    end
  end
  redis.call('SET', KEYS[1], identity .. ':0:seeded')
  return {1, 1}
end

local cause
if not epoch then
  cause = 'missing'
else
  local r, h, created, was = string.match(epoch, '^(%x+):(%x+):(%d+):(%a+)$')
  if not r then
    cause = 'foreign'
  elseif r ~= run then
    cause = 'process'
  elseif h ~= history then
    cause = 'history'
  else
    if check then
      local bad = bad_policy()
      if bad then
        return {2, bad}
      end
    end
    local till = tonumber(created) + window
    if now < till then
      return {0, till, was, 0}
    end
  end
end

if cause then
  -- A new process may be configured otherwise: always look at its policy.
  local bad = check and bad_policy()
  redis.call('SET', KEYS[1], identity .. ':' .. now .. ':' .. cause)
  if bad then
    return {2, bad}
  end
  return {0, now + window, cause, 1}
end

if mode == 'r' then
  -- A write, refused when Redis is out of memory.
  redis.call('SET', KEYS[2], '1', 'PX', '1000')
  return {1, tonumber(field(info, 'connected_slaves')) or 0}
end

local out = {1}
for i = 2, #KEYS do
  local r = redis.pcall('SET', KEYS[i], '1', 'NX', 'EX', ARGV[i + 3])
  if type(r) == 'table' and r.err then
    -- Out of memory refuses even a SET NX that would change nothing: a replay is
    -- still called a replay.
    if redis.call('EXISTS', KEYS[i]) == 1 then
      out[i] = 0
    else
      out[i] = r.err
    end
  elseif r then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
