using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class SendPolicyTests
{
    private static readonly Viewer Admin = Viewer.Of("root", Roles.Admin);
    private static readonly Viewer Publisher = Viewer.Of("billing", Roles.Publisher);
    private static readonly Viewer PlainUser = Viewer.Of("alice");

    public static TheoryData<string> AllAudiences => ["users", "roles", "groups", "everyone", "mixed"];

    public static TheoryData<string> UserAndGroupAudiences => ["users", "groups", "users+groups"];

    [Theory]
    [MemberData(nameof(AllAudiences))]
    public void Admin_may_send_to_any_audience(string audience)
    {
        Assert.True(SendPolicy.MaySend(Admin, AudienceOf(audience)));
        SendPolicy.EnsureMaySend(Admin, AudienceOf(audience));
    }

    [Theory]
    [MemberData(nameof(UserAndGroupAudiences))]
    public void Publisher_may_send_to_users_and_groups(string audience)
    {
        Assert.True(SendPolicy.MaySend(Publisher, AudienceOf(audience)));
        SendPolicy.EnsureMaySend(Publisher, AudienceOf(audience));
    }

    [Fact]
    public void Publisher_may_not_send_to_everyone()
    {
        var error = Assert.Throws<ForbiddenException>(() => SendPolicy.EnsureMaySend(Publisher, new Audience(everyone: true)));

        Assert.Equal("Publishers may send to users and groups only; roles and everyone need the admin role.", error.Message);
        Assert.False(SendPolicy.MaySend(Publisher, new Audience(everyone: true)));
    }

    [Fact]
    public void Publisher_may_not_send_to_roles()
    {
        var error = Assert.Throws<ForbiddenException>(() => SendPolicy.EnsureMaySend(Publisher, new Audience(roles: ["ops"])));

        Assert.Contains("roles and everyone need the admin role", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Publisher_may_not_smuggle_a_role_in_beside_users_and_groups()
    {
        Assert.False(SendPolicy.MaySend(Publisher, new Audience(users: ["alice"], roles: ["ops"], groups: ["team"])));
        Assert.False(SendPolicy.MaySend(Publisher, new Audience(users: ["alice"], everyone: true)));
    }

    [Theory]
    [MemberData(nameof(AllAudiences))]
    public void User_without_a_sending_role_may_not_send_to_any_audience(string audience)
    {
        var error = Assert.Throws<ForbiddenException>(() => SendPolicy.EnsureMaySend(PlainUser, AudienceOf(audience)));

        Assert.Equal("Sending notifications needs the admin or publisher role.", error.Message);
        Assert.False(SendPolicy.MaySend(PlainUser, AudienceOf(audience)));
    }

    [Fact]
    public void Other_roles_do_not_allow_sending()
    {
        Assert.False(SendPolicy.MaySend(Viewer.Of("bob", "ops", "viewer"), new Audience(users: ["alice"])));
    }

    [Theory]
    [InlineData("Admin")]
    [InlineData("ADMIN")]
    [InlineData(" admin")]
    [InlineData("Publisher")]
    public void Role_names_match_exactly(string role)
    {
        Assert.False(SendPolicy.MaySend(Viewer.Of("mallory", role), new Audience(users: ["alice"])));
    }

    [Fact]
    public void Admin_who_is_also_publisher_may_send_to_everyone()
    {
        Assert.True(SendPolicy.MaySend(Viewer.Of("root", Roles.Publisher, Roles.Admin), new Audience(everyone: true)));
    }

    [Fact]
    public void A_refusal_is_a_domain_error_whose_message_may_be_shown()
    {
        Assert.IsAssignableFrom<DomainException>(Assert.Throws<ForbiddenException>(() => SendPolicy.EnsureMaySend(PlainUser, new Audience(users: ["x"]))));
    }

    [Fact]
    public void Admin_may_retract_what_someone_else_sent()
    {
        Assert.True(SendPolicy.MayRetract(Admin, "billing"));
    }

    [Fact]
    public void Sender_may_retract_their_own_notification()
    {
        Assert.True(SendPolicy.MayRetract(Publisher, "billing"));
        Assert.True(SendPolicy.MayRetract(Viewer.Of("former-publisher"), "former-publisher"));
    }

    [Fact]
    public void Publisher_may_not_retract_what_another_sender_sent()
    {
        Assert.False(SendPolicy.MayRetract(Publisher, "orders-service"));
    }

    [Fact]
    public void Sender_ids_match_exactly_for_retraction()
    {
        Assert.False(SendPolicy.MayRetract(Viewer.Of("Billing", Roles.Publisher), "billing"));
        Assert.False(SendPolicy.MayRetract(Viewer.Of("billing ", Roles.Publisher), "billing"));
    }

    [Fact]
    public void Plain_user_may_not_retract_what_others_sent()
    {
        Assert.False(SendPolicy.MayRetract(PlainUser, "billing"));
    }

    private static Audience AudienceOf(string kind) => kind switch
    {
        "users" => new Audience(users: ["alice"]),
        "roles" => new Audience(roles: ["ops"]),
        "groups" => new Audience(groups: ["team"]),
        "everyone" => new Audience(everyone: true),
        "users+groups" => new Audience(users: ["alice"], groups: ["team"]),
        "mixed" => new Audience(users: ["alice"], roles: ["ops"], groups: ["team"], everyone: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
