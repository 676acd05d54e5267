using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class NotificationGroupConfiguration : IEntityTypeConfiguration<NotificationGroup>
{
    public void Configure(EntityTypeBuilder<NotificationGroup> builder)
    {
        builder.ToTable("Groups");
        builder.HasKey(g => g.Name);
        builder.Property(g => g.Name).HasMaxLength(GroupRules.MaxNameLength);
        builder.Property(g => g.Kind).HasConversion<byte>();
        builder.Property(g => g.CreatedBy).HasMaxLength(NotificationLimits.MaxUserIdLength);
        builder.HasMany(g => g.Members).WithOne().HasForeignKey(m => m.GroupName).OnDelete(DeleteBehavior.Cascade);
    }
}
