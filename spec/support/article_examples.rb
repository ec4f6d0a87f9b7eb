# frozen_string_literal: true

# What the article's examples 2-4 (examples/*/config.ru) must do for a client, driven with raw
# WebSocket and SSE sockets against a running server (anything with host, port, output and
# wait_for_output, like PistonSpec::Cli). Shared by the bin/piston and the rackup specs.
module ArticleExamples
  extend RSpec::Matchers

  module_function

  def sse(server)
    s = TCPSocket.new(server.host, server.port)
    s.write("GET / HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
    s
  end

  # Example 2: each callback prints a line; an SSE and a WebSocket connection open and close.
  def callbacks(server)
    events = sse(server)
    server.wait_for_output(/\* Push connection opened\./, 10)
    ws = RawWebSocket.connect(server.host, server.port, "/")
    ws.send_text("Hi!")
    server.wait_for_output(/\* Incoming data: Hi!/, 10)
    ws.close
    expect(ws.read_close.close_code).to eq(1000)
    events.close
    deadline = Time.now + 10
    sleep 0.1 until server.output.scan("* Push connection closed.").size >= 2 || Time.now > deadline
    expect(server.output.scan("* Push connection opened.").size).to eq(2)
    expect(server.output.scan("* Push connection closed.").size).to eq(2)
  end

  # Example 3: a background thread writes the time every second; a message is broadcast.
  def timer(server)
    a = RawWebSocket.connect(server.host, server.port, "/")
    b = RawWebSocket.connect(server.host, server.port, "/")
    expect(a.read_data(timeout: 5)).to start_with("The time is: ")
    expect(b.read_data(timeout: 5)).to start_with("The time is: ")
    a.send_text("Hi!")
    # The time goes out every second meanwhile: how many come first depends on the machine's load.
    got = []
    got << b.read_data(timeout: 5) until got.include?("Special Announcement: Hi!") || got.size >= 10
    expect(got).to include("Special Announcement: Hi!")
    a.close_socket
    b.close_socket
  end

  # Example 4: a chat room on subscribe/publish; the name comes from the path.
  def chat(server)
    mitchel = RawWebSocket.connect(server.host, server.port, "/Mitchel")
    expect(mitchel.read_data).to eq("Mitchel joined the chat.")
    ana = RawWebSocket.connect(server.host, server.port, "/Ana")
    expect(ana.read_data).to eq("Ana joined the chat.")
    expect(mitchel.read_data).to eq("Ana joined the chat.")
    mitchel.send_text("Yo!")
    expect(mitchel.read_data).to eq("Mitchel: Yo!")
    expect(ana.read_data).to eq("Mitchel: Yo!")
    mitchel.close
    mitchel.read_close
    expect(ana.read_data).to eq("Mitchel left the chat.")
    anon = RawWebSocket.connect(server.host, server.port, "/")
    expect(anon.read_data).to eq("unknown joined the chat.")
    [ana, anon].each(&:close_socket)
  end
end
