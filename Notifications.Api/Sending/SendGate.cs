namespace Notifications.Api.Sending;

/// <summary>
/// Queues this process's sends before they reach the database's send-order lock. Sends are serialized there anyway;
/// waiting here instead costs no pooled connection or open transaction, and on SQLite it replaces the driver's
/// sleep-and-retry on a busy database (which blocks threads and lets unlucky writers starve) with a fair async queue.
/// </summary>
public sealed class SendGate : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);

    public async Task<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    public void Dispose() => gate.Dispose();

    public readonly struct Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
