namespace Notifications.Tests.Infrastructure;

/// <summary>Every await in a test is bounded; a hang becomes a failure with a message, not a stuck run.</summary>
public static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(15);

    /// <summary>How long a test waits to be sure something did NOT arrive (after a later sentinel did).</summary>
    public static readonly TimeSpan Absence = TimeSpan.FromMilliseconds(300);

    public static async Task<T> WithTimeout<T>(this Task<T> task, TimeSpan? timeout = null, string? what = null)
    {
        var limit = timeout ?? Default;
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what ?? "the operation"}.");
        }
    }

    public static async Task WithTimeout(this Task task, TimeSpan? timeout = null, string? what = null)
    {
        var limit = timeout ?? Default;
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what ?? "the operation"}.");
        }
    }

    /// <summary>Polls until the condition holds, or fails with the description.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!await condition().WithTimeout(Default, what))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
