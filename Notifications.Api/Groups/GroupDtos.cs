using System.ComponentModel.DataAnnotations;
using Notifications.Domain;

namespace Notifications.Api.Groups;

public sealed record CreateGroupRequest
{
    [Required]
    [StringLength(GroupRules.MaxNameLength, MinimumLength = 1)]
    [RegularExpression("^[A-Za-z0-9._-]+$", ErrorMessage = GroupRules.NameRule)]
    public string? Name { get; init; }

    [Required]
    [AllowedValues("open", "restricted", ErrorMessage = "kind must be 'open' or 'restricted'.")]
    public string? Kind { get; init; }
}

public sealed record GroupDto(string Name, string Kind, bool IsMember, DateTime CreatedAt);

public sealed record GroupList(IReadOnlyList<GroupDto> Items);

public sealed record SubscribeResult(string Group, DateTime JoinedAt);

public static class GroupKinds
{
    public static string ToName(this GroupKind kind) => kind == GroupKind.Open ? "open" : "restricted";

    public static GroupKind Parse(string name) => name == "open" ? GroupKind.Open : GroupKind.Restricted;
}
