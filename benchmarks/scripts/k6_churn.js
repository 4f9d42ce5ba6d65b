// k6 side of the connection-churn benchmark (the same shape as churn.py), run only when `k6` is
// on PATH: each iteration connects, sends 32 bytes, waits for the echo and closes.
import ws from "k6/ws";

// gracefulStop 0s: stop at the end of the duration, as greenws and Locust do here
export const options = {
  scenarios: {
    bench: {
      executor: "constant-vus",
      vus: parseInt(__ENV.BENCH_VUS || "50"),
      duration: __ENV.BENCH_DURATION || "10s",
      gracefulStop: "0s",
    },
  },
};
const URL = __ENV.BENCH_URL || "ws://127.0.0.1:9001/";
const MESSAGE = "x".repeat(32);

export default function () {
  ws.connect(URL, null, function (socket) {
    socket.on("open", () => socket.send(MESSAGE));
    socket.on("message", () => socket.close(1000));
  });
}
