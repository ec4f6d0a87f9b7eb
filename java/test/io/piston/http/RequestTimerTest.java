package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The connection timer on an EmbeddedChannel's event loop, with its clock frozen and moved by hand. */
class RequestTimerTest {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final List<String> expired = new ArrayList<>();
    private boolean waitingOnClient = true;
    private final RequestTimer timer = new RequestTimer(channel.eventLoop(), new RequestTimer.Expiry() {
        @Override
        public boolean waitingOnClient() {
            return waitingOnClient;
        }

        @Override
        public void expired(boolean answer408) {
            expired.add(answer408 ? "408" : "close");
        }
    });

    RequestTimerTest() {
        channel.freezeTime();
    }

    @AfterEach
    void finish() {
        assertFalse(channel.finish());
    }

    private void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void aRequestDeadlineAnswers408WhenItPasses() {
        timer.arm(Duration.ofSeconds(2), true);
        advance(1999);
        assertEquals(List.of(), expired);
        advance(1);
        assertEquals(List.of("408"), expired);
        assertFalse(timer.armed());
    }

    @Test
    void anIdleDeadlineJustCloses() {
        timer.arm(Duration.ofSeconds(1), false);
        advance(1000);
        assertEquals(List.of("close"), expired);
    }

    @Test
    void aLaterDeadlineMovesWithoutANewCheckUntilTheFirstOneFires() {
        timer.arm(Duration.ofSeconds(1), true);
        timer.arm(Duration.ofSeconds(5), false);
        advance(1000);
        assertEquals(List.of(), expired);
        advance(3999);
        assertEquals(List.of(), expired);
        advance(1);
        assertEquals(List.of("close"), expired);
    }

    @Test
    void anEarlierDeadlineReplacesTheScheduledCheck() {
        timer.arm(Duration.ofSeconds(5), false);
        timer.arm(Duration.ofSeconds(1), true);
        advance(1000);
        assertEquals(List.of("408"), expired);
        advance(5000);
        assertEquals(List.of("408"), expired);
    }

    @Test
    void eachBodyPieceGivesTheClientTimeInProportionToItsSize() {
        timer.arm(Duration.ofSeconds(1), true);
        timer.extend(RequestTimer.BODY_BYTES_PER_SECOND); // one more second
        timer.extend(RequestTimer.BODY_BYTES_PER_SECOND / 2); // and a half
        advance(2499);
        assertEquals(List.of(), expired);
        advance(1);
        assertEquals(List.of("408"), expired);
    }

    @Test
    void aDisarmedDeadlineNeverExpires() {
        timer.arm(Duration.ofSeconds(1), true);
        timer.disarm();
        timer.extend(1024); // nothing to extend
        advance(10_000);
        assertEquals(List.of(), expired);
    }

    @Test
    void aDeadlinePassedWhileTheServerHadTheMoveIsCheckedOnRecheck() {
        timer.arm(Duration.ofSeconds(1), true);
        waitingOnClient = false; // a response is in flight
        advance(2000);
        assertEquals(List.of(), expired);
        waitingOnClient = true;
        timer.recheck();
        channel.runScheduledPendingTasks();
        assertEquals(List.of("408"), expired);
    }

    @Test
    void stopLeavesNothingScheduled() {
        timer.arm(Duration.ofSeconds(1), true);
        timer.stop();
        assertFalse(timer.armed());
        assertEquals(-1, channel.runScheduledPendingTasks());
        advance(5000);
        assertEquals(List.of(), expired);
    }
}
