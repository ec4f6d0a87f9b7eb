package io.piston.upgrade;

/** What an upgraded connection speaks; {@link #rackName} is its name in env['rack.upgrade?']. Constant; any thread. */
public enum Protocol {
    WEBSOCKET("websocket"),
    SSE("sse");

    private final String rackName;

    Protocol(String rackName) {
        this.rackName = rackName;
    }

    public String rackName() {
        return rackName;
    }
}
