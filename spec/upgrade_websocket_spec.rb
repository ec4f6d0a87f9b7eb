# frozen_string_literal: true

require "spec_helper"
require "zlib"

# rack.upgrade for WebSockets over real sockets: detection, statuses, headers, both calling
# styles, callback order, the client API, limits and protocol errors, backpressure, load.
module UpgradeWsSpec
  EVENTS = Queue.new

  def self.id(env)
    env["QUERY_STRING"][/id=([^&]+)/, 1] || "-"
  end

  # Client-argument style: every callback gets the connection first.
  class ClientStyle
    def on_open(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :open, client.protocol]
    end

    def on_message(client, data)
      EVENTS << [UpgradeWsSpec.id(client.env), :message, data, data.encoding.name]
      case data
      when "close" then client.close
      when "pending" then client.write("pending=#{client.pending}")
      when "open?" then client.write("open?=#{client.open?}")
      when "env" then client.write("path=#{client.env['PATH_INFO']}")
      when "protocol" then client.write("protocol=#{client.protocol.inspect}")
      when "timeout" then client.write("timeout=#{client.timeout}")
      when "ping me" then client.timeout = 1
      when "handler" then client.write("handler=#{client.handler.class}")
      when "switch" then client.handler = Switched
      when "binary" then client.write("\x00\xFFbin".b)
      when "symbol" then client.write(:sym)
      when "boom" then raise "boom in on_message"
      when "after close"
        client.close
        EVENTS << [UpgradeWsSpec.id(client.env), :write_after_close, client.write("late")]
      else client.write("echo: #{data}")
      end
    end

    def on_drained(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :drained]
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close, client.open?, client.pending]
    end
  end

  # The article's style: no client argument, connection methods on the handler itself.
  class SelfStyle
    def on_open
      EVENTS << [UpgradeWsSpec.id(env), :open, protocol]
      write("welcome")
    end

    def on_message(data)
      write("self: #{data}")
    end

    def on_close
      EVENTS << [UpgradeWsSpec.id(env), :close]
    end
  end

  class Switched
    def on_open(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :switched_open]
      client.write("switched")
    end

    def on_message(client, data)
      client.write("new handler: #{data}")
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :switched_close]
    end
  end

  # A module handler (extend self), shared by all its connections.
  module ModuleHandler
    extend self

    def on_open(client)
      client.write("module open")
    end

    def on_message(client, data)
      client.write("module: #{data}")
    end
  end

  class SlowOpen
    def on_open(client)
      sleep 0.5
      EVENTS << [UpgradeWsSpec.id(client.env), :open_done]
    end

    def on_message(client, data)
      EVENTS << [UpgradeWsSpec.id(client.env), :message, data]
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close]
    end
  end

  class RaisingOpen
    def on_open(_client)
      raise "boom in on_open"
    end

    def on_message(_client, _data) = nil

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close_after_failed_open]
    end
  end

  class Shutdown
    def on_open(client) = client.write("ready")

    def on_shutdown(client)
      client.write("bye")
      EVENTS << [UpgradeWsSpec.id(client.env), :shutdown]
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close]
    end
  end

  # Writes from its own thread until write returns false (the connection closed).
  class ForeignWriter
    def on_open(client)
      Thread.new do
        count = 0
        count += 1 while client.write("tick #{count}")
        EVENTS << [UpgradeWsSpec.id(client.env), :writer_stopped, count]
      end
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close]
    end
  end

  # Floods a client that does not read.
  class Flood
    def on_open(client)
      Thread.new do
        chunk = "x" * 16_384
        sent = 0
        max_pending = 0
        while client.write(chunk)
          sent += 1
          max_pending = [max_pending, client.pending].max
        end
        EVENTS << [UpgradeWsSpec.id(client.env), :flood_stopped, sent, max_pending]
      end
    end

    def on_close(client)
      EVENTS << [UpgradeWsSpec.id(client.env), :close]
    end
  end

  class Counter
    @open = java.util.concurrent.atomic.AtomicInteger.new
    class << self
      attr_reader :open
    end

    def on_open(_client) = Counter.open.increment_and_get
    def on_message(client, data) = client.write(data)
    def on_close(_client) = Counter.open.decrement_and_get
  end

  # Never touches the env in on_open: the server keeps it packed until client.env asks.
  class EnvLater
    KEYS = Queue.new

    def initialize(request_env)
      @request_env = request_env
    end

    def on_open(client) = client.write("ready")

    def on_message(client, data)
      env = client.env
      case data
      when "env"
        client.write([env["PATH_INFO"], env["QUERY_STRING"], env["HTTP_UPGRADE"], env["app.user"],
                      env["rack.upgrade?"], env.keys == KEYS.pop, client.env.equal?(env)].inspect)
      when "hijack"
        client.write(begin
          env["rack.hijack"].call
          "hijacked"
        rescue IOError => e
          e.message
        end)
      when "hints" then client.write(env["rack.early_hints"].call({ "link" => "</a.css>" }).inspect)
      when "same" then client.write("same=#{env.equal?(@request_env)}")
      end
    end
  end

  APP = lambda do |env|
    path = env["PATH_INFO"]
    EVENTS << [UpgradeWsSpec.id(env), :upgrade?, env["rack.upgrade?"]] if path == "/detect"
    case path
    when %r{\A/status/(-?\d+)\z}
      env["rack.upgrade"] = ClientStyle.new
      [Integer(Regexp.last_match(1)), { "content-type" => "text/plain" }, ["refused"]]
    when "/self" then env["rack.upgrade"] = SelfStyle.new; [0, {}, []]
    when "/class" then env["rack.upgrade"] = ClientStyle; [0, {}, []]
    when "/module" then env["rack.upgrade"] = ModuleHandler; [0, {}, []]
    when "/slow_open" then env["rack.upgrade"] = SlowOpen.new; [0, {}, []]
    when "/raise_open" then env["rack.upgrade"] = RaisingOpen.new; [0, {}, []]
    when "/shutdown" then env["rack.upgrade"] = Shutdown.new; [0, {}, []]
    when "/foreign" then env["rack.upgrade"] = ForeignWriter.new; [0, {}, []]
    when "/flood" then env["rack.upgrade"] = Flood.new; [0, {}, []]
    when "/counter" then env["rack.upgrade"] = Counter.new; [0, {}, []]
    when "/env_later", "/env_default"
      env["app.user"] = +"ada" # as a middleware would
      env.default = "none" if path == "/env_default"
      env["rack.upgrade"] = EnvLater.new(env)
      EnvLater::KEYS << env.keys
      [0, {}, []]
    when "/headers"
      env["rack.upgrade"] = ClientStyle.new
      [101, { "set-cookie" => "session=abc", "sec-websocket-protocol" => "chat.v2" }, []]
    when "/body"
      body = Object.new
      body.define_singleton_method(:each) { |&b| b.call("never sent") }
      body.define_singleton_method(:close) { EVENTS << ["body", :closed] }
      env["rack.upgrade"] = ClientStyle.new
      [200, {}, body]
    when "/detect" then [200, {}, [env["rack.upgrade?"].inspect]]
    when "/plain"
      env["rack.upgrade"] = ClientStyle.new # not an upgrade request: ignored
      [200, {}, ["plain"]]
    else
      env["rack.upgrade"] = ClientStyle.new if env["rack.upgrade?"] == :websocket
      [0, {}, []]
    end
  end
end

RSpec.describe "rack.upgrade WebSockets" do
  def events
    UpgradeWsSpec::EVENTS
  end

  before(:all) do
    @server = serve(UpgradeWsSpec::APP, threads: 8, max_message: 4096, max_outbound_bytes: 256 * 1024,
                                        close_timeout: 1)
  end
  after(:all) { @server&.stop }
  before { events.clear }

  let(:port) { @server.port }

  def ws(path = "/", **opts)
    RawWebSocket.connect("127.0.0.1", port, path, **opts)
  end

  # The next event of connection `id` (events of other connections are kept for later).
  def event(id, timeout: 5)
    @held ||= []
    found = @held.find { |e| e[0] == id }
    return @held.delete_at(@held.index(found)) if found

    deadline = Time.now + timeout
    loop do
      left = deadline - Time.now
      raise "no event for #{id} within #{timeout}s (held: #{@held.inspect})" if left <= 0

      e = Timeout.timeout(left) { events.pop }
      return e if e[0] == id

      @held << e
    end
  rescue Timeout::Error
    raise "no event for #{id} within #{timeout}s (held: #{@held.inspect})"
  end

  def request(raw)
    RawHttp.open("127.0.0.1", port) do |http|
      http.request(raw)
      http.read_response
    end
  end

  describe "detection" do
    it "sets rack.upgrade? to :websocket for a valid handshake" do
      res = request("GET /detect?id=d1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
      expect(res.body).to eq(":websocket")
    end

    it "sets :sse when Accept lists text/event-stream among other types" do
      res = request("GET /detect HTTP/1.1\r\nHost: h\r\nAccept: text/html, Text/Event-Stream;q=0.9, */*\r\n\r\n")
      expect(res.body).to eq(":sse")
    end

    it "leaves it unset for plain requests and for WebSocket requests that are not GET over HTTP/1.1" do
      expect(request("GET /detect HTTP/1.1\r\nHost: h\r\n\r\n").body).to eq("nil")
      res = request("POST /detect HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
      expect(res.body).to eq("nil")
    end

    it "answers normally when rack.upgrade is set on a request that cannot upgrade" do
      expect(request("GET /plain HTTP/1.1\r\nHost: h\r\n\r\n").body).to eq("plain")
    end
  end

  describe "invalid handshakes" do
    # Answered by the server: the app is not called (/detect would record an event).
    def refused(headers)
      res = nil
      log = capture_log do
        res = request("GET /detect?id=bad HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
                      "#{headers}\r\n")
      end
      expect(Array.new(events.size) { events.pop }.map(&:first)).not_to include("bad")
      lines = log.lines.grep(/WebSocket handshake/)
      expect(lines.size).to eq(1)
      expect(lines.first).to include("WARN", "127.0.0.1", res.status.to_s)
      res
    end

    it "answers 426 with Sec-WebSocket-Version: 13 to another version" do
      res = refused("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n")
      expect(res.status).to eq(426)
      expect(res.headers["sec-websocket-version"]).to eq("13")
      expect(refused("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n").status).to eq(426)
    end

    it "answers 400 to two Sec-WebSocket-Key headers, and to none" do
      res = refused("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n" \
                    "Sec-WebSocket-Version: 13\r\n")
      expect(res.status).to eq(400)
      expect(refused("Sec-WebSocket-Version: 13\r\n").status).to eq(400)
    end
  end

  describe "status codes" do
    [0, -1, 101, 200].each do |status|
      it "upgrades when the app returns #{status}" do
        c = ws("/status/#{status}?id=s#{status}")
        expect(c.status).to eq(101)
        expect(event("s#{status}")[1]).to eq(:open)
        c.send_text("hi")
        expect(c.read_data).to eq("echo: hi")
        c.close_socket
      end
    end

    [302, 401].each do |status|
      it "refuses with the app's response for #{status}" do
        expect { ws("/status/#{status}") }.to raise_error(RawWebSocket::HandshakeError) { |e|
          expect(e.response[0]).to eq(status)
          expect(e.response[2]).to eq("refused")
        }
      end
    end

    it "keeps the app's headers (cookies, the chosen sub-protocol) and never sends the body" do
      c = ws("/headers?id=h1", protocols: %w[chat.v1 chat.v2])
      expect(c.headers["set-cookie"]).to eq("session=abc")
      expect(c.headers["sec-websocket-protocol"]).to eq("chat.v2")
      expect(c.headers["upgrade"].downcase).to eq("websocket")
      c.close_socket
    end

    it "calls body.close and sends none of the body" do
      c = ws("/body?id=b1")
      expect(event("body")).to eq(["body", :closed])
      c.send_text("x")
      expect(c.read_data).to eq("echo: x")
      c.close_socket
    end
  end

  describe "handlers and calling styles" do
    it "supports the self style (article): connection methods on the handler itself" do
      c = ws("/self?id=self1")
      expect(event("self1")).to eq(["self1", :open, :websocket])
      expect(c.read_data).to eq("welcome")
      c.send_text("yo")
      expect(c.read_data).to eq("self: yo")
      c.close
      expect(c.read_close.close_code).to eq(1000)
      expect(event("self1")).to eq(["self1", :close])
    end

    it "includes one module into the handler class, never extends each object" do
      c = ws("/self?id=self2")
      event("self2")
      expect(UpgradeWsSpec::SelfStyle.ancestors).to include(Piston::ConnectionMethods)
      expect(UpgradeWsSpec::SelfStyle.new.singleton_methods).to be_empty
      expect(UpgradeWsSpec::ClientStyle.ancestors).not_to include(Piston::ConnectionMethods)
      c.close_socket
    end

    it "instantiates a Class handler once per connection" do
      a = ws("/class?id=k1")
      b = ws("/class?id=k2")
      a.send_text("handler")
      expect(a.read_data).to eq("handler=UpgradeWsSpec::ClientStyle")
      b.send_text("hi")
      expect(b.read_data).to eq("echo: hi")
      [a, b].each(&:close_socket)
    end

    it "uses a module handler as given" do
      c = ws("/module")
      expect(c.read_data).to eq("module open")
      c.send_text("m")
      expect(c.read_data).to eq("module: m")
      c.close_socket
    end

    it "switches handlers: old on_close, then new on_open" do
      c = ws("/?id=sw")
      event("sw")
      c.send_text("switch")
      expect(event("sw")[1]).to eq(:message)
      expect(event("sw")[1]).to eq(:close)
      expect(event("sw")[1]).to eq(:switched_open)
      expect(c.read_data).to eq("switched")
      c.send_text("x")
      expect(c.read_data).to eq("new handler: x")
      c.close_socket
      expect(event("sw")[1]).to eq(:switched_close)
    end
  end

  describe "callbacks" do
    it "queues frames that arrive while on_open runs, then delivers them in order" do
      c = ws("/slow_open?id=so")
      10.times { |i| c.send_text("m#{i}") }
      expect(event("so")[1]).to eq(:open_done)
      expect(Array.new(10) { event("so")[2] }).to eq(Array.new(10) { |i| "m#{i}" })
      c.close_socket
      expect(event("so")[1]).to eq(:close)
    end

    it "delivers text as UTF-8 and binary as BINARY strings" do
      c = ws("/?id=enc")
      event("enc")
      c.send_text("héllo")
      expect(event("enc")).to eq(["enc", :message, "héllo", "UTF-8"])
      c.send_binary("\x00\xFF".b)
      expect(event("enc")).to eq(["enc", :message, "\x00\xFF".b, "ASCII-8BIT"])
      2.times { c.read_data }
      c.close_socket
    end

    it "assembles fragmented messages" do
      c = ws("/?id=frag")
      event("frag")
      c.send_frame(:text, "hel", fin: false)
      c.ping("in between")
      c.send_frame(:continuation, "lo", fin: true)
      expect(c.read_frame.type).to eq(:pong)
      expect(c.read_data).to eq("echo: hello")
      c.close_socket
    end

    it "calls on_close exactly once, last, when the peer disconnects abruptly mid-message" do
      c = ws("/?id=abrupt")
      event("abrupt")
      c.write_raw(RawWebSocket.frame(:text, "x" * 1000)[0, 300])
      c.close_socket
      expect(event("abrupt")).to eq(["abrupt", :close, false, -1])
      sleep 0.3
      # Only this connection's: an earlier example's on_close may still be landing in the queue.
      @held.concat(Array.new(events.size) { events.pop })
      expect(@held.count { |e| e[0] == "abrupt" }).to eq(0)
    end

    it "logs an exception in on_message with its backtrace and keeps the connection" do
      log = capture_log do
        c = ws("/?id=boom")
        c.send_text("boom")
        c.send_text("still here")
        expect(c.read_data).to eq("echo: still here")
        c.close_socket
      end
      expect(log).to include("on_message", "boom in on_message", "upgrade_websocket_spec.rb")
    end

    it "closes the connection when on_open raises, and still calls on_close" do
      log = capture_log do
        c = ws("/raise_open?id=ro")
        expect(c.read_close.close_code).to eq(1011)
        expect(event("ro")[1]).to eq(:close_after_failed_open)
      end
      expect(log).to include("boom in on_open")
    end
  end

  describe "the client object" do
    it "answers open?, pending, env, protocol, timeout and handler" do
      c = ws("/?id=api")
      event("api")
      { "open?" => "open?=true", "env" => "path=/", "protocol" => "protocol=:websocket",
        "timeout" => "timeout=40", "pending" => "pending=0" }.each do |ask, answer|
        c.send_text(ask)
        expect(c.read_data).to eq(answer)
      end
      c.close_socket
    end

    it "keeps the whole env, the app's own entries too, for a client.env asked only after the request" do
      c = ws("/env_later?x=1")
      expect(c.read_data).to eq("ready")
      sleep 0.2 # the request's worker is done with it
      c.send_text("env")
      expect(c.read_data).to eq(["/env_later", "x=1", "websocket", "ada", :websocket, true, true].inspect)
      c.send_text("hijack")
      expect(c.read_data).to eq("rack.hijack called after the response: the request is over")
      c.send_text("hints")
      expect(c.read_data).to eq("nil")
      c.close_socket
    end

    it "keeps an env that is more than its entries (here a default) as the Hash the app got" do
      c = ws("/env_default")
      expect(c.read_data).to eq("ready")
      sleep 0.2
      c.send_text("same")
      expect(c.read_data).to eq("same=true")
      c.send_text("env")
      expect(c.read_data).to eq(["/env_default", "", "websocket", "ada", :websocket, true, true].inspect)
      c.close_socket
    end

    it "sends BINARY strings as binary frames and other objects with to_s" do
      c = ws("/")
      c.send_text("binary")
      expect(c.read_message).to eq(["\x00\xFFbin".b, :binary])
      c.send_text("symbol")
      expect(c.read_message).to eq(["sym", :text])
      c.close_socket
    end

    it "write returns false once closed" do
      c = ws("/?id=wac")
      event("wac")
      c.send_text("after close")
      event("wac")
      expect(event("wac")).to eq(["wac", :write_after_close, false])
      c.close_socket
    end

    it "pings an idle client after its timeout" do
      c = ws("/?id=ping")
      c.send_text("ping me")
      f = c.read_frame(timeout: 10) # a 1 s timer on a loaded machine
      expect(f.type).to eq(:ping)
      c.close_socket
    end
  end

  describe "closing handshake" do
    it "server-initiated: sends Close, waits for the peer's Close, then closes TCP" do
      # Its own server: with the group's 1 s close_timeout, a stall of 0.7 s here would let the
      # timer close TCP during the 0.3 s check, and the timer could stand in for our Close.
      srv = serve(UpgradeWsSpec::APP, close_timeout: 10)
      c = RawWebSocket.connect("127.0.0.1", srv.port, "/?id=sc")
      event("sc")
      c.send_text("close")
      f = c.read_close
      expect(f.close_code).to eq(1000)
      expect(c.eof?(0.3)).to be(false) # still waiting for our Close
      c.close(1000)
      expect(c.eof?(5)).to be(true)
      expect(event("sc")[1]).to eq(:message)
      expect(event("sc")[1]).to eq(:close)
    end

    it "peer-initiated: echoes the Close code and closes TCP" do
      c = ws("/?id=pc")
      event("pc")
      c.close(4001, "bye")
      expect(c.read_close.close_code).to eq(4001)
      expect(c.eof?(2)).to be(true)
      expect(event("pc")[1]).to eq(:close)
    end

    it "answers a ping with a pong carrying the same payload" do
      c = ws("/")
      c.ping("abc")
      f = c.read_frame
      expect([f.type, f.payload]).to eq([:pong, "abc"])
      c.close_socket
    end
  end

  describe "faults" do
    {
      "an unmasked client frame" => [->(c) { c.send_frame(:text, "hi", mask: false) }, 1002],
      "reserved bits" => [->(c) { c.send_frame(:text, "hi", rsv: 2) }, 1002],
      "an unknown opcode" => [->(c) { c.send_frame(3, "hi") }, 1002],
      "an oversized frame" => [->(c) { c.send_text("x" * 5000) }, 1009],
      "an oversized fragmented message" => [lambda { |c|
        c.send_frame(:text, "x" * 3000, fin: false)
        c.send_frame(:continuation, "x" * 3000, fin: true)
      }, 1009],
      "invalid UTF-8 in a text message" => [->(c) { c.send_frame(:text, "\xC3\x28".b) }, 1007],
      "a Close with code 5000" => [->(c) { c.close(5000) }, 1002],
      "a Close with code 65535" => [->(c) { c.close(65_535) }, 1002],
      "a Close with code 1005" => [->(c) { c.close(1005) }, 1002],
      "a Close with code 1015" => [->(c) { c.close(1015) }, 1002],
      "a Close with code 2999" => [->(c) { c.close(2999) }, 1002],
      "a Close with a 1-byte body" => [->(c) { c.send_frame(:close, "\x03".b) }, 1002],
      "a Close reason that is not UTF-8" => [->(c) { c.close(1000, "\xC3\x28".b) }, 1007]
    }.each do |what, (act, code)|
      it "closes with #{code} on #{what}" do
        c = ws("/?id=fault")
        event("fault")
        act.call(c)
        expect(c.read_close.close_code).to eq(code)
        expect(c.eof?(3)).to be(true)
        expect(event("fault")[1]).to eq(:close)
      end
    end
  end

  describe "backpressure" do
    it "closes a client that never reads, with server memory bounded", timeout: 60 do
      log = capture_log do
        c = ws("/flood?id=flood")
        c.socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_RCVBUF, 4096)
        got = [event("flood", timeout: 30), event("flood", timeout: 10)]
        expect(got.map { |e| e[1] }).to contain_exactly(:flood_stopped, :close)
        _, _, sent, max_pending = got.find { |e| e[1] == :flood_stopped }
        # 256 KiB of queue plus what the kernel buffers hold: far from unbounded
        expect(max_pending * 16_384).to be <= 300 * 1024
        expect(sent).to be < 2000
        c.close_socket
      end
      expect(log).to include("slow client")
    end

    it "lets a foreign thread write while the connection closes" do
      c = ws("/foreign?id=fw")
      5.times { c.read_data }
      c.close_socket
      stopped = [event("fw"), event("fw")].find { |e| e[1] == :writer_stopped }
      expect(stopped[2]).to be > 5
    end
  end

  describe "load" do
    it "holds 1,000 concurrent WebSocket connections", timeout: 120 do
      clients = Array.new(1000) { ws("/counter", timeout: 20) }
      deadline = Time.now + 20
      sleep 0.05 until UpgradeWsSpec::Counter.open.get == 1000 || Time.now > deadline
      expect(UpgradeWsSpec::Counter.open.get).to eq(1000)
      clients.each_with_index { |c, i| c.send_text("n#{i}") }
      clients.each_with_index { |c, i| expect(c.read_data).to eq("n#{i}") }
      clients.each(&:close_socket)
      deadline = Time.now + 20
      sleep 0.05 until UpgradeWsSpec::Counter.open.get.zero? || Time.now > deadline
      expect(UpgradeWsSpec::Counter.open.get).to eq(0)
    end
  end

  describe "permessage-deflate" do
    it "is negotiated when the client offers it, and compressed messages arrive" do
      c = ws("/?id=dfl", extensions: "permessage-deflate; client_max_window_bits")
      expect(c.headers["sec-websocket-extensions"]).to start_with("permessage-deflate")
      event("dfl")
      deflater = Zlib::Deflate.new(Zlib::DEFAULT_COMPRESSION, -Zlib::MAX_WBITS)
      compressed = deflater.deflate("squeeze me", Zlib::SYNC_FLUSH)[0...-4]
      c.send_frame(:text, compressed, rsv: 4)
      expect(event("dfl")[2]).to eq("squeeze me")
      f = c.read_frame
      payload = f.rsv == 4 ? Zlib::Inflate.new(-Zlib::MAX_WBITS).inflate(f.payload + "\x00\x00\xff\xff".b) : f.payload
      expect(payload).to eq("echo: squeeze me")
      c.close_socket
    end

    it "fails the connection with 1002 on RSV1 of a ping" do
      c = ws("/?id=drsv", extensions: "permessage-deflate")
      event("drsv")
      c.send_frame(:ping, "abc", rsv: 4)
      expect(c.read_close.close_code).to eq(1002)
      expect(c.eof?(3)).to be(true)
      expect(event("drsv")[1]).to eq(:close)
    end

    # max_message is 4096 in this group; data that does not compress makes frames a bit larger
    it "applies max_message to the inflated message: at the limit accepted, past it 1009" do
      rng = Random.new(42)
      [4095, 4096].each do |size|
        [("a" * size).b, rng.bytes(size)].each do |data|
          c = ws("/?id=dmax", extensions: "permessage-deflate")
          event("dmax")
          deflater = Zlib::Deflate.new(Zlib::DEFAULT_COMPRESSION, -Zlib::MAX_WBITS)
          c.send_frame(:binary, deflater.deflate(data, Zlib::SYNC_FLUSH)[0...-4], rsv: 4)
          got = event("dmax")
          expect([got[1], got[2].bytesize]).to eq([:message, size])
          expect(got[2].b).to eq(data)
          c.close_socket
          expect(event("dmax")[1]).to eq(:close)
        end
      end
      c = ws("/?id=dover", extensions: "permessage-deflate")
      event("dover")
      deflater = Zlib::Deflate.new(Zlib::DEFAULT_COMPRESSION, -Zlib::MAX_WBITS)
      c.send_frame(:binary, deflater.deflate("a" * 4097, Zlib::SYNC_FLUSH)[0...-4], rsv: 4)
      expect(c.read_close.close_code).to eq(1009)
      expect(event("dover")[1]).to eq(:close)
    end
  end

  describe "graceful stop" do
    it "calls on_shutdown (the client may still write), then closes with 1001 and calls on_close" do
      srv = serve(UpgradeWsSpec::APP, threads: 2)
      c = RawWebSocket.connect("127.0.0.1", srv.port, "/shutdown?id=sd")
      expect(c.read_data).to eq("ready")
      stopper = Thread.new { srv.stop }
      expect(c.read_data).to eq("bye")
      expect(c.read_close.close_code).to eq(1001)
      c.close(1001)
      stopper.join(10)
      expect(event("sd")[1]).to eq(:shutdown)
      expect(event("sd")[1]).to eq(:close)
    end
  end
end

RSpec.describe "rack.upgrade WebSockets without deflate" do
  it "does not negotiate permessage-deflate when it is switched off" do
    srv = serve(UpgradeWsSpec::APP, deflate: false)
    c = RawWebSocket.connect("127.0.0.1", srv.port, "/", extensions: "permessage-deflate")
    expect(c.headers).not_to have_key("sec-websocket-extensions")
    c.send_text("plain")
    expect(c.read_data).to eq("echo: plain")
    c.close_socket
  end
end

RSpec.describe "a WebSocket client that floods pings and never reads" do
  def events
    UpgradeWsSpec::EVENTS
  end

  def event(id, timeout: 10)
    deadline = Time.now + timeout
    loop do
      left = deadline - Time.now
      raise "no event for #{id} within #{timeout}s" if left <= 0

      e = Timeout.timeout(left) { events.pop }
      return e if e[0] == id
    end
  end

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Sends masked 125-byte pings for at most `seconds` or `limit` bytes; returns [bytes sent,
  # whether the socket stayed unwritable for `stall` seconds: the server stopped reading].
  def flood(socket, seconds: 10, limit: 48 * 1024 * 1024, stall: 1.5)
    chunk = RawWebSocket.frame(:ping, "p" * 125) * 64
    pending = chunk.dup
    sent = 0
    deadline = now + seconds
    progress = now
    while now < deadline && sent < limit
      n = socket.write_nonblock(pending, exception: false)
      if n == :wait_writable
        return [sent, true] if now - progress > stall

        IO.select(nil, [socket], nil, 0.1)
        next
      end
      sent += n
      progress = now
      pending = pending.byteslice(n..)
      pending = chunk.dup if pending.empty?
    end
    [sent, false]
  end

  it "stops reading from it, closes it as a slow client, and the others do not notice", timeout: 60 do
    limit = 256 * 1024
    srv = serve(UpgradeWsSpec::APP, threads: 4, ping_interval: 1, max_outbound_bytes: limit)
    events.clear
    flooder = RawWebSocket.connect("127.0.0.1", srv.port, "/?id=pf")
    expect(event("pf")[1]).to eq(:open)
    address = "127.0.0.1:#{flooder.socket.local_address.ip_port}"
    log = capture_log do
      result = nil
      thread = Thread.new { result = flood(flooder.socket) }
      sleep 0.5
      # Meanwhile another client gets an HTTP answer and a WebSocket echo promptly.
      started = now
      expect(RawHttp.get("127.0.0.1", srv.port, "/detect").status).to eq(200)
      other = RawWebSocket.connect("127.0.0.1", srv.port, "/?id=other")
      other.send_text("still there?")
      expect(other.read_data).to eq("echo: still there?")
      expect(now - started).to be < 2
      other.close_socket # idle, it would not answer the 1 s pings
      thread.join(20)
      sent, stalled = result
      expect(stalled).to be(true), "the server kept reading: #{sent} bytes of pings taken"
      expect(event("pf", timeout: 15)[1]).to eq(:close)
      after = RawWebSocket.connect("127.0.0.1", srv.port, "/?id=after")
      after.send_text("after")
      expect(after.read_data).to eq("echo: after")
      after.close_socket
    end
    lines = log.lines.grep(/slow client/)
    expect(lines.size).to eq(1), log
    expect(lines.first).to include("WARN", address)
    expect(log.lines.grep(/#{Regexp.escape(address)}\b/)).to eq(lines) # one line for the flooder, no more
    # what the server held for the flooder stayed under its outbound limit
    queued = lines.first[/(\d+) bytes queued/, 1]
    expect(Integer(queued)).to be <= limit
  ensure
    flooder&.close_socket
  end
end
