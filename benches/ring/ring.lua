-- thread-ring in Lua (5.4 or LuaJIT): 503 coroutines pass a token around
-- a ring; each hop decrements it; the coroutine that receives 0 answers its
-- number. The main loop resumes the coroutines in turn, as coshare's bare
-- stage does. Prints "<answer> <ns per hop>".
--
--   lua5.4 ring.lua 10000000      luajit ring.lua 10000000

local hops = tonumber(arg[1]) or 1000
local ring = 503

local threads = {}
for id = 1, ring do
  threads[id] = coroutine.create(function(token)
    while token ~= 0 do
      token = coroutine.yield(token - 1)
    end
    return id
  end)
end

local start = os.clock()
local token, id = hops, 1
while true do
  local _, out = coroutine.resume(threads[id], token)
  if coroutine.status(threads[id]) == "dead" then
    token = out
    break
  end
  token = out
  id = id % ring + 1
end
local elapsed = os.clock() - start
print(string.format("%d %.2f", token, elapsed * 1e9 / hops))
