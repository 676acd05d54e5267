using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Groups;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Groups;

/// <summary>
/// The hold that keeps a connect's and the membership mover's moves of one user apart (each reads the user's groups,
/// then moves connections by what it read), on the running service's <see cref="GroupMoves"/>.
/// </summary>
public sealed class GroupMovesTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private GroupMoves Moves => service.Services.GetRequiredService<GroupMoves>();

    [Fact]
    public async Task Moves_of_one_user_wait_for_each_other_and_another_users_do_not()
    {
        var (user, other) = (TestUsers.New("held"), TestUsers.New("other"));
        var first = await Moves.HoldUserAsync(user, CancellationToken.None).WithTimeout(what: "the first hold");
        var second = Moves.HoldUserAsync(user, CancellationToken.None);

        using (await Moves.HoldUserAsync(other, CancellationToken.None).WithTimeout(what: "another user's hold"))
        {
            Assert.False(second.IsCompleted, "a second hold of the user was granted while the first was held");
        }

        first.Dispose();
        first.Dispose();
        (await second.WithTimeout(what: "the second hold, once the first is released")).Dispose();
        Assert.Equal(0, Moves.UsersHeld);
    }

    [Fact]
    public async Task A_wait_given_up_leaves_the_hold_as_it_was()
    {
        var user = TestUsers.New("held");
        var first = await Moves.HoldUserAsync(user, CancellationToken.None).WithTimeout(what: "the first hold");
        using var giveUp = new CancellationTokenSource();
        var waiting = Moves.HoldUserAsync(user, giveUp.Token);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WithTimeout(what: "the given-up wait"));

        first.Dispose();
        (await Moves.HoldUserAsync(user, CancellationToken.None).WithTimeout(what: "a hold after the given-up wait")).Dispose();
        Assert.Equal(0, Moves.UsersHeld);
    }
}
