# frozen_string_literal: true

require "spec_helper"

# In-process pub/sub: connection subscriptions (direct, with a block, patterns), global ones.
module UpgradePubSubSpec
  EVENTS = Queue.new

  class Subscriber
    def on_open(client)
      q = client.env["QUERY_STRING"]
      case q
      when /block=(\w+)/
        client.subscribe(Regexp.last_match(1)) { |ch, msg| client.write("block #{ch}: #{msg}") }
      when /pattern=([^&]+)/
        client.subscribe(Regexp.last_match(1), match: :redis)
      when /sym=(\w+)/
        client.subscribe(Regexp.last_match(1).to_sym)
      end
      client.write("subscribed")
    end

    def on_message(client, data)
      cmd, ch, msg = data.split(" ", 3)
      case cmd
      when "pub" then client.publish(ch, msg)
      when "sub" then client.subscribe(ch)
      when "unsub" then client.write("unsub=#{client.unsubscribe(ch)}")
      when "resub"
        client.subscribe(ch) { |c, m| client.write("replaced #{c}: #{m}") }
        client.write("resubscribed")
      when "pending" then client.write("pending=#{client.pending}")
      end
    end
  end

  APP = lambda do |env|
    env["rack.upgrade"] = Subscriber.new if env["rack.upgrade?"]
    [0, {}, []]
  end
end

RSpec.describe "rack.upgrade pub/sub" do
  before(:all) { @server = serve(UpgradePubSubSpec::APP) }
  after(:all) { @server&.stop }

  def ws(query)
    c = RawWebSocket.connect("127.0.0.1", @server.port, "/?#{query}")
    expect(c.read_data).to eq("subscribed")
    c
  end

  def wait_for_subscribers(channel, n)
    deadline = Time.now + 5
    sleep 0.02 until Java::IoPistonPubsub::PubSubBroker.get.subscribers(channel) >= n || Time.now > deadline
  end

  it "delivers publishes directly to every subscriber, Symbols and Strings naming the same channel" do
    a = ws("sym=news")
    b = ws("x")
    b.send_text("sub news")
    wait_for_subscribers("news", 2)
    Piston.publish(:news, "hello")
    expect(a.read_data).to eq("hello")
    expect(b.read_data).to eq("hello")
    a.send_text("pub news from-a")
    expect(a.read_data).to eq("from-a")
    expect(b.read_data).to eq("from-a")
    [a, b].each(&:close_socket)
  end

  it "counts published messages in pending until they have left, then gets back to 0" do
    a = ws("sym=burst")
    wait_for_subscribers("burst", 1)
    Thread.new { 2000.times { |i| Piston.publish("burst", "m#{i}") } }.join
    got = Array.new(2000) { a.read_data }
    expect(got).to eq(Array.new(2000) { |i| "m#{i}" })
    # All were read, so none is queued: pending must come back to exactly 0 (none counted twice
    # or forgotten), though it may take a moment to learn of the last ones.
    seen = nil
    Timeout.timeout(5) do
      loop do
        a.send_text("pending")
        seen = a.read_data
        break if seen == "pending=0"

        sleep 0.05
      end
    end
    expect(seen).to eq("pending=0")
    a.close_socket
  end

  it "sends BINARY messages as binary frames" do
    a = ws("sym=bin")
    Piston.publish("bin", "\x01\x02".b)
    expect(a.read_message).to eq(["\x01\x02".b, :binary])
    a.close_socket
  end

  it "runs a subscription's block in the connection's callback order" do
    a = ws("block=room")
    Piston.publish("room", "hi")
    expect(a.read_data).to eq("block room: hi")
    a.close_socket
  end

  it "matches glob patterns with match: :redis" do
    a = ws("pattern=user.*.updates")
    Piston.publish("user.42.updates", "u42")
    Piston.publish("user.updates", "nope")
    Piston.publish("user.7.updates", "u7")
    expect(a.read_data).to eq("u42")
    expect(a.read_data).to eq("u7")
    a.close_socket
  end

  it "replaces a subscription when subscribing again, and unsubscribes" do
    a = ws("sym=swap")
    a.send_text("resub swap")
    expect(a.read_data).to eq("resubscribed") # a publish before that would go to the old subscription
    expect(Java::IoPistonPubsub::PubSubBroker.get.subscribers("swap")).to eq(1)
    Piston.publish("swap", "m")
    expect(a.read_data).to eq("replaced swap: m")
    a.send_text("unsub swap")
    expect(a.read_data).to eq("unsub=true")
    expect(Java::IoPistonPubsub::PubSubBroker.get.subscribers("swap")).to eq(0)
    a.close_socket
  end

  it "ends every subscription of a connection when it closes" do
    a = ws("sym=gone")
    wait_for_subscribers("gone", 1)
    a.close_socket
    deadline = Time.now + 5
    sleep 0.02 until Java::IoPistonPubsub::PubSubBroker.get.subscribers("gone").zero? || Time.now > deadline
    expect(Java::IoPistonPubsub::PubSubBroker.get.subscribers("gone")).to eq(0)
  end

  it "offers global subscribe/publish/unsubscribe from any thread" do
    got = Queue.new
    Piston.subscribe(:jobs) { |ch, msg| got << [ch, msg] }
    Thread.new { Piston.publish("jobs", "done") }.join
    expect(Timeout.timeout(5) { got.pop }).to eq(%w[jobs done])
    Piston.subscribe("jobs") { |_ch, msg| got << [:replaced, msg] }
    Piston.publish(:jobs, "again")
    expect(Timeout.timeout(5) { got.pop }).to eq([:replaced, "again"])
    expect(Piston.unsubscribe(:jobs)).to be(true)
    Piston.publish(:jobs, "unheard")
    sleep 0.2
    expect(got.size).to eq(0)
  end

  it "delivers to SSE subscribers as data events" do
    s = TCPSocket.new("127.0.0.1", @server.port)
    s.write("GET /?sym=feed HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
    buf = +""
    # on_open subscribes, then writes "subscribed": a publish seen between the two may go out first
    Timeout.timeout(5) { buf << s.readpartial(4096) until buf.include?("data: subscribed\n\n") }
    Piston.publish("feed", "line1\nline2")
    Timeout.timeout(5) { buf << s.readpartial(4096) until buf.include?("data: line2\n\n") }
    expect(buf).to include("data: subscribed\n\ndata: line1\ndata: line2\n\n")
    s.close
  end

  it "runs an SSE connection's subscription block in its callback order" do
    s = TCPSocket.new("127.0.0.1", @server.port)
    s.write("GET /?block=feedb HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
    wait_for_subscribers("feedb", 1)
    Piston.publish(:feedb, "x")
    buf = +""
    Timeout.timeout(5) { buf << s.readpartial(4096) until buf.include?("data: block feedb: x\n\n") }
    s.close
  end

  it "unsubscribes with a Symbol, and says false when there was no such subscription" do
    a = ws("sym=symunsub")
    a.send_text("unsub symunsub")
    expect(a.read_data).to eq("unsub=true")
    a.send_text("unsub symunsub")
    expect(a.read_data).to eq("unsub=false")
    expect(Piston.unsubscribe(:never_subscribed)).to be(false)
    a.close_socket
  end

  it "closes a subscriber that does not read at its outbound bound, while the others get every message", timeout: 120 do
    srv = serve(UpgradePubSubSpec::APP, max_outbound_bytes: 256 * 1024)
    broker = Java::IoPistonPubsub::PubSubBroker.get
    log = capture_log do
      slow = RawWebSocket.connect("127.0.0.1", srv.port, "/?sym=flood")
      slow.socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_RCVBUF, 4096)
      expect(slow.read_data).to eq("subscribed")
      fast = RawWebSocket.connect("127.0.0.1", srv.port, "/?sym=flood", timeout: 10)
      expect(fast.read_data).to eq("subscribed")
      wait_for_subscribers("flood", 2)
      payload = "x" * 65_536
      sent = 0
      while sent < 2000 && broker.subscribers("flood") == 2
        Piston.publish("flood", payload)
        sent += 1
        expect(fast.read_data.bytesize).to eq(65_536)
      end
      expect(broker.subscribers("flood")).to eq(1)
      expect(sent).to be < 2000
      Piston.publish("flood", "after")
      expect(fast.read_data).to eq("after")
      [slow, fast].each(&:close_socket)
    end
    expect(log).to include("slow client")
  end
end
