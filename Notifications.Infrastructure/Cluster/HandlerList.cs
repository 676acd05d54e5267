namespace Notifications.Infrastructure.Cluster;

/// <summary>The subscribers of one kind of cluster message; safe to add to while messages are being handled.</summary>
internal sealed class HandlerList<T>
{
    private readonly List<Func<T, Task>> handlers = [];

    public void Add(Func<T, Task> handler)
    {
        lock (handlers)
        {
            handlers.Add(handler);
        }
    }

    /// <summary>The handlers as they are now, to call without holding the lock.</summary>
    public Func<T, Task>[] Snapshot()
    {
        lock (handlers)
        {
            return [.. handlers];
        }
    }

    /// <summary>Calls every handler in turn, each after the previous one finished.</summary>
    public async Task InvokeInTurnAsync(T message)
    {
        foreach (var handler in Snapshot())
        {
            await handler(message);
        }
    }
}
