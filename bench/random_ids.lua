-- wrk script: GET a random product from IDS_FILE on every request.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)])
end
