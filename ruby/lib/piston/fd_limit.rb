# frozen_string_literal: true

module Piston
  # The process's limit on open file descriptors, which caps its connections (one each). A
  # server raises its soft limit to the hard one when it starts (HotSpot does so too, unless
  # started with -XX:-MaxFDLimit); only root can raise the hard one. Called on the thread that
  # starts the server.
  module FdLimit
    module_function

    # Raises the soft limit to the hard limit; returns the soft limit now in force (Integer, or
    # Float::INFINITY for "unlimited").
    def raise_to_hard
      soft, hard = Process.getrlimit(:NOFILE)
      if soft < hard
        begin
          Process.setrlimit(:NOFILE, hard, hard)
        rescue SystemCallError, NotImplementedError => e
          warn "piston: could not raise the open files limit from #{soft} to #{hard}: #{e.message}"
        end
      end
      current
    end

    def current
      soft = Process.getrlimit(:NOFILE).first
      soft == Process::RLIM_INFINITY ? Float::INFINITY : soft
    end

    # As the banner shows it: "20000", "unlimited".
    def text(limit = current)
      limit == Float::INFINITY ? "unlimited" : limit.to_s
    end
  end
end
