# frozen_string_literal: true

module PistonSpec
  # The transport the servers a spec starts run on: the one PISTON_TRANSPORT names (every server
  # reads it, in this process or a child), else epoll, what "auto" takes on Linux. bin/test with
  # PISTON_TRANSPORT=io_uring (or nio) runs the specs on that transport.
  TRANSPORT = ENV.fetch("PISTON_TRANSPORT", "auto").then { |t| t == "auto" ? "epoll" : t }
end
