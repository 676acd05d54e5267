namespace Notifications.Infrastructure;

/// <summary>Names this process among the instances (outbox leases, cluster reports).</summary>
public sealed class InstanceIdentity
{
    // Leases carry the name, and a sweep's claim the name and a number, in a column of OutboxEntry.LeasedByMaxLength
    // characters: a pod's machine name can be 63 characters long, so only its start is kept.
    private const int MachineNameLength = 20;
    private long claims;

    public InstanceIdentity()
        : this(Environment.MachineName, Environment.ProcessId)
    {
    }

    public InstanceIdentity(string machineName, int processId) =>
        Id = $"{machineName[..Math.Min(machineName.Length, MachineNameLength)]}-{processId}-{Guid.NewGuid().ToString("N")[..8]}";

    public string Id { get; }

    /// <summary>A lease owner's name that no other sweep uses, on this instance or another.</summary>
    public string NextClaim() => $"{Id}:{Interlocked.Increment(ref claims)}";
}
