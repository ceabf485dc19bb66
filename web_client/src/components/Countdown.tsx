import { useEffect, useState } from "react";

interface Props {
  seconds: number;
  message: string;
  onDone: () => void;
}

/** "Try again in N s", counting down live; announced once, then quietly updated. */
export function Countdown({ seconds, message, onDone }: Props) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    setLeft(seconds);
    const started = Date.now();
    const timer = setInterval(() => {
      const remaining = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000));
      setLeft(remaining);
      if (remaining === 0) {
        clearInterval(timer);
        onDone();
      }
    }, 250);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [seconds]);
  return (
    <div className="banner banner-warning" role="alert" data-testid="rate-limit">
      <span>
        {message} You can try again in{" "}
        <strong data-testid="countdown" aria-live="off">
          {left} s
        </strong>
        .
      </span>
    </div>
  );
}
