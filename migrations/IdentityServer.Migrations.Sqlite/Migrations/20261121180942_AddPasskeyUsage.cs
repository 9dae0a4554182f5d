using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityServer.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class AddPasskeyUsage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ConsumedChallenges",
                columns: table => new
                {
                    ChallengeHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ConsumedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ConsumedChallenges", x => x.ChallengeHash);
                });

            migrationBuilder.CreateTable(
                name: "PasskeyUsage",
                columns: table => new
                {
                    CredentialId = table.Column<string>(type: "TEXT", maxLength: 1400, nullable: false),
                    UserId = table.Column<string>(type: "TEXT", maxLength: 450, nullable: false),
                    LastUsedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_PasskeyUsage", x => x.CredentialId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ConsumedChallenges_ExpiresAt",
                table: "ConsumedChallenges",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_PasskeyUsage_UserId",
                table: "PasskeyUsage",
                column: "UserId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ConsumedChallenges");

            migrationBuilder.DropTable(
                name: "PasskeyUsage");
        }
    }
}
