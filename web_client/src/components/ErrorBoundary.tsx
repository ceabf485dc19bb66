import { Component, type ErrorInfo, type ReactNode } from "react";

interface State {
  error: Error | null;
}

/** The last resort: a page that says what happened and how to get out, instead of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.warn("page crashed", error, info.componentStack);
  }

  componentDidUpdate(previous: { resetKey?: string }) {
    // Navigating elsewhere gives the new page a fresh start.
    if (this.state.error && previous.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <section className="card" role="alert" data-testid="error-page">
        <h1 tabIndex={-1} ref={(el) => el?.focus()}>Something went wrong</h1>
        <p>This page hit an unexpected error. Your work on the server is safe.</p>
        <p className="hint">{this.state.error.message}</p>
        <div className="actions">
          <a className="button secondary" href="/generate">Go to Generate</a>
          <button type="button" onClick={() => window.location.reload()}>Reload the page</button>
        </div>
      </section>
    );
  }
}
