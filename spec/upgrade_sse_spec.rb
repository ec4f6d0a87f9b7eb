# frozen_string_literal: true

require "spec_helper"

# rack.upgrade for Server-Sent Events over real sockets.
module UpgradeSseSpec
  EVENTS = Queue.new

  class Stream
    def on_open(client)
      EVENTS << [:open, client.protocol, client.env["HTTP_LAST_EVENT_ID"]]
      client.write("one")
      client.write("two\nlines")
      client.write_sse(data: "named", event: "greeting", id: "7", retry: 1500)
    end

    def on_message(_client, _data)
      EVENTS << [:message_on_sse]
    end

    def on_close(client)
      EVENTS << [:close, client.open?]
    end
  end

  class Pinged
    def on_open(client)
      client.timeout = 1
    end
  end

  APP = lambda do |env|
    next [200, {}, ["not sse"]] unless env["rack.upgrade?"] == :sse

    env["rack.upgrade"] = env["PATH_INFO"] == "/ping" ? Pinged.new : Stream.new
    [200, { "set-cookie" => "s=1", "content-type" => "text/html" }, ["never"]]
  end
end

RSpec.describe "rack.upgrade SSE" do
  before(:all) { @server = serve(UpgradeSseSpec::APP) }
  after(:all) { @server&.stop }
  before { UpgradeSseSpec::EVENTS.clear }

  def event
    Timeout.timeout(5) { UpgradeSseSpec::EVENTS.pop }
  end

  def open_stream(path = "/", extra = "")
    s = TCPSocket.new("127.0.0.1", @server.port)
    s.write("GET #{path} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n#{extra}\r\n")
    s
  end

  def read_until(socket, marker, timeout: 5)
    buf = +""
    deadline = Time.now + timeout
    until buf.include?(marker)
      left = deadline - Time.now
      raise "timed out waiting for #{marker.inspect}; got #{buf.inspect}" if left <= 0
      next unless IO.select([socket], nil, nil, left)

      chunk = socket.read_nonblock(4096, exception: false)
      raise "closed; got #{buf.inspect}" if chunk.nil?

      buf << chunk unless chunk == :wait_readable
    end
    buf
  end

  it "answers 200 text/event-stream, no-cache, no length, with the app's other headers" do
    s = open_stream
    head = read_until(s, "\r\n\r\n")
    expect(head).to start_with("HTTP/1.1 200 OK\r\n")
    expect(head.downcase).to include("content-type: text/event-stream", "cache-control: no-cache", "set-cookie: s=1")
    expect(head.downcase).not_to include("content-length", "transfer-encoding")
    expect(event).to eq([:open, :sse, nil])
    s.close
    expect(event).to eq([:close, false])
  end

  it "frames writes as data: lines ending with a blank line, and write_sse with event, id and retry" do
    s = open_stream
    body = read_until(s, "data: named\n\n").split("\r\n\r\n", 2).last
    expect(body).to eq("data: one\n\ndata: two\ndata: lines\n\nevent: greeting\nid: 7\nretry: 1500\ndata: named\n\n")
    expect(body).not_to include("never")
    expect(event).to eq([:open, :sse, nil])
    s.close
    expect(event).to eq([:close, false]) # so it cannot reach the next example's queue
  end

  it "puts a reconnecting browser's Last-Event-ID in the env" do
    s = open_stream("/", "Last-Event-ID: 41\r\n")
    expect(event).to eq([:open, :sse, "41"])
    s.close
    expect(event).to eq([:close, false])
  end

  it "sends a ': ping' comment every idle interval" do
    s = open_stream("/ping")
    expect(read_until(s, ": ping\n\n", timeout: 10)).to include(": ping") # a 1 s timer on a loaded machine
    s.close
  end

  it "does not upgrade without Accept: text/event-stream" do
    expect(RawHttp.get("127.0.0.1", @server.port, "/").body).to eq("not sse")
  end
end
