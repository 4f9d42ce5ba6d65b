// k6 side of the idle benchmark (the same shape as idle.py), run only when `k6` is on PATH.
import ws from "k6/ws";

// gracefulStop 0s: end every session at the end of the duration, as greenws and Locust do here
export const options = {
  scenarios: {
    bench: {
      executor: "constant-vus",
      vus: parseInt(__ENV.BENCH_VUS || "1000"),
      duration: __ENV.BENCH_DURATION || "25s",
      gracefulStop: "0s",
    },
  },
};
const URL = __ENV.BENCH_URL || "ws://127.0.0.1:9001/";
const PING_MS = parseInt(__ENV.BENCH_PING_MS || "5000");

export default function () {
  ws.connect(URL, null, function (socket) {
    socket.setInterval(() => socket.ping(), PING_MS);
    socket.setTimeout(() => socket.close(), 600000);
  });
}
