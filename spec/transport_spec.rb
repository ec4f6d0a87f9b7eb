# frozen_string_literal: true

require "spec_helper"

# --transport: each transport serves, and one the machine lacks gives way to the next with one
# log line. Netty's own switch, -Dio.netty.transport.noNative (relocated with Netty in the jar
# bin/piston runs), stands in for a kernel without io_uring or epoll.
RSpec.describe "the transport" do
  let(:echo) { File.join(__dir__, "fixtures", "echo.ru") }

  %w[io_uring epoll nio].each do |name|
    it "serves HTTP and WebSockets on #{name} when asked" do
      server = serve(echo, transport: name)
      expect(server.piston.transport).to eq(name)
      expect(RawHttp.get(server.host, server.port, "/").body).to eq("ok")
      ws = RawWebSocket.connect(server.host, server.port, "/")
      ws.send_text("hi")
      expect(ws.read_message).to eq(["echo: hi", :text])
    ensure
      ws&.socket&.close
    end
  end

  it "falls back with one log line when the transport asked for is not there" do
    piston = start_piston(echo, args: ["--transport", "io_uring"],
                                env: { "PISTON_JAVA_OPTS" => "-Dio.piston.shaded.io.netty.transport.noNative=true" })
    expect(piston.output).to include("Transport: nio")
    expect(piston.output.scan(/io_uring is not available here \(.*\): using nio/).size).to eq(1)
    expect(RawHttp.get(piston.host, piston.port, "/").body).to eq("ok")
  end
end
