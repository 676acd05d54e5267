namespace Notifications.Infrastructure.Cluster;

/// <summary>The groups a lifetime manager has one of this instance's connections in, to check them against the store.</summary>
public interface IConnectionGroups
{
    IReadOnlyCollection<string> GroupsOf(string connectionId);
}
