-- wrk script for scripts/bench-mirror: replays a recorded request mix (tests/web/mix.mjs), each
-- connection starting at its own place in the list, with the page's Accept-Encoding.
local reqs = {}
local i = 0

function init(args)
  local f = assert(io.open(args[1]))
  for line in f:lines() do
    local path, range = line:match("^([^\t]+)\t?(.*)$")
    if path then
      local h = { ["Accept-Encoding"] = "br, gzip" }
      if range ~= "" then h["Range"] = range end
      table.insert(reqs, wrk.format("GET", path, h))
    end
  end
  f:close()
  i = math.random(#reqs)
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
