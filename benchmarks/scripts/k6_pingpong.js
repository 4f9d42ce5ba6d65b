// k6 side of the ping-pong benchmark (the same shape as pingpong.py), run only when `k6` is on
// PATH: k6 run -e BENCH_URL=ws://127.0.0.1:9001/ -e BENCH_VUS=100 -e BENCH_DURATION=10s k6_pingpong.js
import ws from "k6/ws";

// gracefulStop 0s: end every session at the end of the duration, as greenws and Locust do here
export const options = {
  scenarios: {
    bench: {
      executor: "constant-vus",
      vus: parseInt(__ENV.BENCH_VUS || "100"),
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
    socket.on("message", () => socket.send(MESSAGE));
    socket.setTimeout(() => socket.close(), 60000);
  });
}
