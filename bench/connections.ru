# Idle connections for bench/connections.sh: GET /ws (WebSocket) and GET /sse (EventSource). Each
# connection gets a handler object of its own, whose on_open subscribes to :bench and writes
# "ready" (the load client counts a connection once that arrives); then it stays idle.
class IdleSubscriber
  def on_open(client)
    client.subscribe(:bench)
    client.write("ready")
  end
end

HELLO = [200, { "content-type" => "text/plain" }, ["connections\n"]].freeze
NOT_FOUND = [404, { "content-type" => "text/plain" }, ["not found\n"]].freeze

run lambda { |env|
  want = { "/ws" => :websocket, "/sse" => :sse }[env["PATH_INFO"]]
  return HELLO if want.nil? && env["PATH_INFO"] == "/"
  return NOT_FOUND if want.nil? || env["rack.upgrade?"] != want
  env["rack.upgrade"] = IdleSubscriber.new
  [200, {}, []]
}
