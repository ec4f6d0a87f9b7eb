# frozen_string_literal: true

# Sinatra on Piston: a page, a Server-Sent Events stream and a WebSocket echo, the last two
# through env["rack.upgrade"]. Works with Sinatra 3 (rack 2.2) and Sinatra 4 (rack 3 + rackup).
#
#   jruby app.rb -o 127.0.0.1 -p 4567        # Sinatra starts Piston (set :server below)
#   rackup -s piston config.ru                # or through rackup
require "sinatra"
require "json"

set :server, "piston"

# SSE: one per connection (Piston instantiates a Class for each); sends a numbered tick every
# half second, then closes after `count` ticks.
class Ticker
  def initialize(count = 5)
    @count = count
  end

  def on_open(client)
    @thread = Thread.new do
      @count.times do |i|
        break unless client.open?

        client.write("tick #{i + 1}")
        sleep 0.5
      end
      client.close
    end
  end

  def on_close(_client)
    @thread&.kill
  end
end

# WebSocket: echoes every message, upper-cased, and says hello first.
module Echo
  extend self

  def on_open(client)
    client.write("hello from Piston")
  end

  def on_message(client, data)
    client.write(data.upcase)
  end
end

get "/" do
  <<~HTML
    <!doctype html>
    <title>Sinatra on Piston</title>
    <h1>Sinatra #{Sinatra::VERSION} on Piston #{Piston::VERSION}</h1>
    <p>SSE: <span id="sse">...</span> WebSocket: <span id="ws">...</span></p>
    <script>
      new EventSource("/events").onmessage = (e) => { document.getElementById("sse").textContent = e.data; };
      const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/echo");
      ws.onopen = () => ws.send("shout");
      ws.onmessage = (e) => { document.getElementById("ws").textContent = e.data; };
    </script>
  HTML
end

get "/info.json" do
  content_type :json
  { sinatra: Sinatra::VERSION, rack: Rack.release, jruby: JRUBY_VERSION, server: env["SERVER_SOFTWARE"] }.to_json
end

get "/events" do
  halt 400, "Ask for text/event-stream\n" unless env["rack.upgrade?"] == :sse

  env["rack.upgrade"] = Ticker.new(Integer(params.fetch("count", 5)))
  content_type "text/event-stream"
  200
end

get "/echo" do
  halt 400, "WebSocket only\n" unless env["rack.upgrade?"] == :websocket

  env["rack.upgrade"] = Echo
  200
end
