namespace Notifications.Infrastructure;

/// <summary>Names this process among the instances (outbox leases, cluster reports).</summary>
public sealed class InstanceIdentity
{
    public string Id { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
}
