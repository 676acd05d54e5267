using Notifications.Infrastructure;
using Notifications.Infrastructure.Data;

namespace Notifications.Tests.Delivery;

/// <summary>
/// An instance's name goes into the outbox's lease column, which PostgreSQL and SQL Server hold to its length (SQLite
/// does not): the longest machine name Linux allows (a Kubernetes pod's name) and the largest process id must fit.
/// </summary>
public sealed class InstanceIdentityTests
{
    [Fact]
    public void A_63_character_machine_name_and_a_7_digit_pid_fit_the_lease_column()
    {
        var instance = new InstanceIdentity(new string('p', 63), 4_194_304);
        for (var sweep = 0; sweep < 3; sweep++)
        {
            Assert.InRange(instance.NextClaim().Length, 1, OutboxEntry.LeasedByMaxLength);
        }

        Assert.InRange(instance.Id.Length, 1, OutboxEntry.LeasedByMaxLength);
    }

    [Fact]
    public void Every_claim_is_new_and_names_its_instance()
    {
        var instance = new InstanceIdentity("notifications-5d8f7c9b6d-x2k9p", 1);
        var other = new InstanceIdentity("notifications-5d8f7c9b6d-x2k9p", 1);

        var claims = Enumerable.Range(0, 100).Select(_ => instance.NextClaim()).Concat(Enumerable.Range(0, 100).Select(_ => other.NextClaim())).ToList();

        Assert.Equal(claims.Count, claims.Distinct(StringComparer.Ordinal).Count());
        Assert.All(claims.Take(100), claim => Assert.StartsWith(instance.Id + ":", claim, StringComparison.Ordinal));
        Assert.NotEqual(instance.Id, other.Id);
    }
}
